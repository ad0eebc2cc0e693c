"""DRF authentication: SimpleJWT access tokens, refused as soon as their sign-in is revoked."""

import contextlib
import itertools
import time
from typing import Any

from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.conf import accounts_settings
from accounts.services.revocation_state import state
from accounts.tokens import FAMILY_CLAIM


class TokenRevoked(exceptions.AuthenticationFailed):
    default_detail = _("Token has been revoked.")
    default_code = "token_revoked"


# Exact token bytes -> the token that verified. A token's signature and claims never
# change, so only expiry (re-checked on every hit) and revocation can make it invalid.
_verified: dict[bytes, Token] = {}


def _clear(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SIMPLE_JWT", "ACCOUNTS"):
        _verified.clear()


setting_changed.connect(_clear, dispatch_uid="accounts.authentication.clear")


class RevocationCheckingJWTAuthentication(JWTStatelessUserAuthentication):
    """Stateless SimpleJWT authentication plus the revocation check, per request.

    The user is a TokenUser built from the claims (no database read); a revoked
    family or a token issued before the user's sign-out-everywhere time gives 401
    with code `token_revoked`.
    """

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified.get(raw_token)
        if token is None or token["exp"] <= time.time() - _leeway_seconds():
            token = super().get_validated_token(raw_token)
            if len(_verified) >= accounts_settings.VERIFIED_TOKEN_CACHE_SIZE:
                _evict_oldest()
            _verified[raw_token] = token
        if state.is_access_revoked(
            family_id=token[FAMILY_CLAIM],
            user_id=str(token[jwt_settings.api_settings.USER_ID_CLAIM]),
            issued_at=token["iat"],
        ):
            raise TokenRevoked()
        return token


def _evict_oldest() -> None:
    """Drop the oldest tenth of the verified-token cache in one go.

    Deleting one key at a time from the front of a dict scans every slot deleted since
    the dict last resized, which made each miss on a full cache cost several microseconds.
    """
    count = max(1, accounts_settings.VERIFIED_TOKEN_CACHE_SIZE // 10)
    with contextlib.suppress(RuntimeError):  # another thread changed the dict meanwhile
        for key in list(itertools.islice(_verified, count)):
            _verified.pop(key, None)


def _leeway_seconds() -> float:
    leeway = jwt_settings.api_settings.LEEWAY
    return leeway.total_seconds() if hasattr(leeway, "total_seconds") else float(leeway or 0)
