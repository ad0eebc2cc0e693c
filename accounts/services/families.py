"""API sign-in families: start one at login, rotate its refresh token, check a token against it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch, datetime_to_epoch

from accounts.conf import accounts_settings
from accounts.models import FamilyToken, GlobalCutoff, SignInFamily
from accounts.privacy import stored_ip, stored_user_agent
from accounts.services import revocation, signins
from accounts.signals import KIND_TOKEN
from accounts.tokens import FAMILY_CLAIM, AccessToken, RefreshToken, fingerprint

REUSE_REASON = "reuse detected"


class FamilyError(Exception):
    """A refresh token that must not be honoured; the message is safe to show."""


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    family: SignInFamily


@transaction.atomic
def family_start(*, user: Any, ip: str | None, user_agent: str) -> TokenPair:
    """Start a sign-in family for a user who just proved their credentials."""
    now = timezone.now()
    lifetime = jwt_settings.api_settings.REFRESH_TOKEN_LIFETIME
    expires_at = now + timedelta(seconds=accounts_settings.FAMILY_ABSOLUTE_LIFETIME)
    family = SignInFamily.objects.create(
        user=user,
        ip=stored_ip(ip),
        user_agent=stored_user_agent(user_agent),
        created_at=now,
        last_used_at=now,
        expires_at=expires_at,
        refresh_expires_at=min(now + lifetime, expires_at),
    )
    pair = _issue(family, now)
    signins.signin_recorded(
        user=user, kind=KIND_TOKEN, credential_id=str(family.pk), ip=ip, user_agent=user_agent
    )
    return pair


def family_rotate(*, raw_refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair, blacklisting it.

    A token that was already exchanged is a replay: the whole family is revoked.
    Raise FamilyError when the token must not be honoured.
    """
    token = _decode_refresh(raw_refresh)
    reused_family = None
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .select_related("family_link__family")
            .filter(jti=token[jwt_settings.api_settings.JTI_CLAIM])
            .first()
        )
        family = _family_of(outstanding, token)
        family = SignInFamily.objects.select_for_update().get(pk=family.pk)
        if family.revoked_at is not None or not family.user.is_active or _before_global_cutoff(family):
            raise FamilyError("Token is blacklisted")
        if not revocation.refresh_token_consume(outstanding):
            reused_family = family
        else:
            now = timezone.now()
            if family.expires_at <= now:
                raise FamilyError("Sign-in has reached its maximum lifetime")
            family.last_used_at = now
            family.refresh_expires_at = min(
                now + jwt_settings.api_settings.REFRESH_TOKEN_LIFETIME, family.expires_at
            )
            family.save(update_fields=["last_used_at", "refresh_expires_at"])
            return _issue(family, now)
    revocation.family_revoke(family=reused_family, reason=REUSE_REASON)
    raise FamilyError("Token is blacklisted")


def refresh_check(*, raw_refresh: str) -> SignInFamily:
    """Return the active family of a refresh token that is valid, unused and unrevoked."""
    token = _decode_refresh(raw_refresh)
    outstanding = (
        OutstandingToken.objects.select_related("family_link__family")
        .filter(jti=token[jwt_settings.api_settings.JTI_CLAIM], blacklistedtoken__isnull=True)
        .first()
    )
    family = _family_of(outstanding, token)
    if not family.is_active or _before_global_cutoff(family):
        raise FamilyError("Token is blacklisted")
    return family


def family_of_refresh(*, raw_refresh: str) -> SignInFamily:
    """Return the family of a genuine refresh token, used or not (for logout)."""
    token = _decode_refresh(raw_refresh)
    outstanding = (
        OutstandingToken.objects.select_related("family_link__family")
        .filter(jti=token[jwt_settings.api_settings.JTI_CLAIM])
        .first()
    )
    return _family_of(outstanding, token)


def _before_global_cutoff(family: SignInFamily) -> bool:
    """Whether the emergency switch was used after this sign-in started (asked of the database:
    refreshing is rare, and the emergency sweep may not have reached the family yet)."""
    return GlobalCutoff.objects.filter(not_before__gt=family.created_at).exists()


def _decode_refresh(raw_refresh: str) -> RefreshToken:
    try:
        return RefreshToken(raw_refresh)
    except TokenError as e:
        raise FamilyError(str(e)) from e


def _family_of(outstanding: OutstandingToken | None, token: RefreshToken) -> SignInFamily:
    link = getattr(outstanding, "family_link", None) if outstanding is not None else None
    if link is None or str(link.family_id) != str(token[FAMILY_CLAIM]):
        raise FamilyError("Token is invalid")
    return link.family


def _issue(family: SignInFamily, now: datetime) -> TokenPair:
    """Mint a refresh token (tracked as outstanding, stored as a fingerprint) and an access token."""
    s = jwt_settings.api_settings
    user_id = str(getattr(family.user, s.USER_ID_FIELD)) if s.USER_ID_FIELD != "id" else str(family.user_id)
    refresh = RefreshToken()
    refresh[s.USER_ID_CLAIM] = user_id
    refresh[FAMILY_CLAIM] = str(family.pk)
    refresh.set_iat(at_time=now)
    refresh["exp"] = datetime_to_epoch(family.refresh_expires_at)
    access = AccessToken()
    access[s.USER_ID_CLAIM] = user_id
    access[FAMILY_CLAIM] = str(family.pk)
    access.set_iat(at_time=now)
    access["exp"] = min(datetime_to_epoch(now + s.ACCESS_TOKEN_LIFETIME), refresh["exp"])
    raw_refresh = str(refresh)
    outstanding = OutstandingToken.objects.create(
        user_id=family.user_id,
        jti=refresh[s.JTI_CLAIM],
        token=fingerprint(raw_refresh),
        created_at=now,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    FamilyToken.objects.create(token=outstanding, family=family)
    return TokenPair(access=str(access), refresh=raw_refresh, family=family)
