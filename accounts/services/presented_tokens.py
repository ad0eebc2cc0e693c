"""Tokens presented by a caller: introspect one (RFC 7662) or revoke its sign-in (RFC 7009).

A token type hint ("access_token" or "refresh_token") only says which kind to try first;
any other value is ignored and every kind is tried (RFC 7009 section 2.1, RFC 7662 section 2.1).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import RevocationEvent, SignInFamily
from accounts.services import families, revocation
from accounts.services.revocation_state import state
from accounts.tokens import FAMILY_CLAIM, AccessToken, RefreshToken, token_backend

ACCESS_TOKEN = "access_token"  # noqa: S105 - RFC 7662 token type names, not secrets
REFRESH_TOKEN = "refresh_token"  # noqa: S105
INACTIVE: dict[str, Any] = {"active": False}
REVOKE_PERMISSION = "accounts.revoke_token"

T = TypeVar("T")


class RevokeForbidden(Exception):
    """The token is live and belongs to someone the caller may not revoke for."""


@dataclass(frozen=True)
class RevocationTarget:
    """What revoking a presented token ends: its live sign-in, or a refresh token outside any."""

    owner: Any  # the user the credential belongs to (None for an ownerless legacy row)
    family: SignInFamily | None
    outstanding: OutstandingToken | None  # set for a refresh token that belongs to no sign-in


def token_introspect(*, raw: str, hint: str | None = None) -> dict[str, Any]:
    """Return RFC 7662's answer: the claims of an active token, else exactly {"active": False}.

    Active means genuine (signature, issuer, audience, type), unexpired, not revoked (its
    sign-in, or the user's "sign out everywhere"), not a used refresh token, and its user
    exists and is active.
    """
    for introspect in _ordered(hint, _access_introspect, _refresh_introspect):
        answer = introspect(raw)
        if answer is not None:
            return answer
    return dict(INACTIVE)


def token_revocation_target(*, raw: str, hint: str | None = None) -> RevocationTarget | None:
    """Return the live sign-in (or family-less refresh token) a genuine token belongs to.

    None when there is nothing left to revoke: an unknown, malformed or expired token, or
    one whose sign-in is already revoked.
    """
    for find in _ordered(hint, _access_target, _refresh_target):
        target = find(raw)
        if target is not None:
            return target
    return None


def token_revoke_allowed(*, user: Any, owner: Any) -> bool:
    """Return whether `user` may revoke a credential of `owner` (theirs, or staff with the permission)."""
    if owner is not None and owner.pk == user.pk:
        return True
    return bool(user.is_staff and user.has_perm(REVOKE_PERMISSION))


def token_revoke(
    *, raw: str, hint: str | None = None, actor: Any, reason: str, ip: str | None = None
) -> list[RevocationEvent]:
    """Revoke the whole sign-in of a refresh or access token, as `actor` (RFC 7009).

    Return the audit events written: none for a token with nothing left to revoke, or a
    dead token of someone else (no oracle beyond what /api/token/verify/ already tells).
    Raise RevokeForbidden for a live token of another user unless `actor` is staff with
    the `accounts.revoke_token` permission.
    """
    target = token_revocation_target(raw=raw, hint=hint)
    if target is None:
        return []
    if not token_revoke_allowed(user=actor, owner=target.owner):
        if token_introspect(raw=raw, hint=hint)["active"]:
            raise RevokeForbidden
        return []
    if target.family is not None:
        event = revocation.family_revoke(family=target.family, actor=actor, reason=reason, ip=ip)
        return [event] if event is not None else []
    return revocation.refresh_tokens_blacklist(tokens=[target.outstanding], actor=actor, reason=reason, ip=ip)


def _ordered(
    hint: str | None, access: Callable[[str], T], refresh: Callable[[str], T]
) -> tuple[Callable[[str], T], ...]:
    return (refresh, access) if hint == REFRESH_TOKEN else (access, refresh)


def _user_claim(user: Any) -> str:
    """Return the user id as this project's tokens carry it (see families._issue)."""
    return str(getattr(user, jwt_settings.api_settings.USER_ID_FIELD))


def _access_family(raw: str) -> tuple[AccessToken, SignInFamily] | None:
    """Return a genuine unexpired access token and its sign-in row (with the user), if both exist."""
    try:
        token = AccessToken(raw)
    except TokenError:
        return None
    family = SignInFamily.objects.select_related("user").filter(pk=token[FAMILY_CLAIM]).first()
    if family is None or _user_claim(family.user) != str(token[jwt_settings.api_settings.USER_ID_CLAIM]):
        return None
    return token, family


def _access_introspect(raw: str) -> dict[str, Any] | None:
    found = _access_family(raw)
    if found is None:
        return None
    token, family = found
    if family.revoked_at is not None or _revoked(token):
        return dict(INACTIVE)
    return _active(token.payload, ACCESS_TOKEN, family.user)


def _refresh_introspect(raw: str) -> dict[str, Any] | None:
    try:
        token = RefreshToken(raw)
        family = families.refresh_check(raw_refresh=raw)  # unused, its sign-in active
    except (TokenError, families.FamilyError):
        return None
    if _revoked(token):
        return dict(INACTIVE)
    return _active(token.payload, REFRESH_TOKEN, family.user)


def _revoked(token: Any) -> bool:
    return state.is_access_revoked(
        family_id=str(token[FAMILY_CLAIM]),
        user_id=str(token[jwt_settings.api_settings.USER_ID_CLAIM]),
        issued_at=token["iat"],
    )


def _active(claims: dict[str, Any], token_type: str, user: Any) -> dict[str, Any]:
    if not user.is_active:
        return dict(INACTIVE)
    s = jwt_settings.api_settings
    answer = {
        "active": True,
        "token_type": token_type,
        "sub": str(claims[s.USER_ID_CLAIM]),
        "username": user.get_username(),
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims[s.JTI_CLAIM],
        "sid": str(claims[FAMILY_CLAIM]),
    }
    for name in ("iss", "aud"):
        if name in claims:
            answer[name] = claims[name]
    return answer


def _access_target(raw: str) -> RevocationTarget | None:
    found = _access_family(raw)
    if found is None or found[1].revoked_at is not None:
        return None
    return RevocationTarget(owner=found[1].user, family=found[1], outstanding=None)


def _refresh_target(raw: str) -> RevocationTarget | None:
    try:
        family = families.family_of_refresh(raw_refresh=raw)  # used or not, as a logout takes it
    except families.FamilyError:
        return _familyless_refresh_target(raw)
    if family.revoked_at is not None:
        return None
    return RevocationTarget(owner=family.user, family=family, outstanding=None)


def _familyless_refresh_target(raw: str) -> RevocationTarget | None:
    """A genuine refresh token issued before sign-in families were tracked (no `sid`), not yet blacklisted."""
    s = jwt_settings.api_settings
    try:
        claims = token_backend().decode(raw)
    except TokenBackendError:
        return None
    jti = claims.get(s.JTI_CLAIM)
    if claims.get(s.TOKEN_TYPE_CLAIM) != "refresh" or not isinstance(jti, str):
        return None
    outstanding = (
        OutstandingToken.objects.select_related("user")
        .filter(jti=jti, family_link__isnull=True, blacklistedtoken__isnull=True)
        .first()
    )
    if outstanding is None:
        return None
    owner = outstanding.user
    if owner is not None and _user_claim(owner) != str(claims.get(s.USER_ID_CLAIM)):
        return None
    return RevocationTarget(owner=owner, family=None, outstanding=outstanding)
