"""This project's JWTs: SimpleJWT tokens carrying the sign-in family (`sid`), with strict claim types."""

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError

FAMILY_CLAIM = "sid"

_backend: TokenBackend | None = None


def token_backend() -> TokenBackend:
    """Return the signing backend for the current SIMPLE_JWT settings.

    SimpleJWT builds its backend once at import; this one follows setting changes.
    """
    global _backend
    if _backend is None:
        s = jwt_settings.api_settings
        _backend = TokenBackend(
            s.ALGORITHM,
            s.SIGNING_KEY,
            s.VERIFYING_KEY,
            s.AUDIENCE,
            s.ISSUER,
            s.JWK_URL,
            s.LEEWAY,
            s.JSON_ENCODER,
        )
    return _backend


def _reset_backend(*, setting: str, **kwargs: Any) -> None:
    global _backend
    if setting == "SIMPLE_JWT":
        _backend = None


setting_changed.connect(_reset_backend, dispatch_uid="accounts.tokens.reset_backend")


class _StrictClaimsMixin:
    """Refuse tokens whose claims have the wrong type (a malformed claim is a 401, not a 500)."""

    payload: dict[str, Any]

    def get_token_backend(self) -> TokenBackend:
        return token_backend()

    def verify(self) -> None:
        # Types first: SimpleJWT's own checks (check_exp) crash with TypeError on a string exp.
        self._check_claim_types()
        super().verify()  # type: ignore[misc]

    def _check_claim_types(self) -> None:
        s = jwt_settings.api_settings
        p = self.payload
        if not isinstance(p.get(s.JTI_CLAIM), str):
            raise TokenError("Token has an invalid id")
        for claim in ("exp", "iat"):
            if not isinstance(p.get(claim), int) or isinstance(p.get(claim), bool):
                raise TokenError(f"Token has an invalid '{claim}' claim")
        user_id = p.get(s.USER_ID_CLAIM)
        if not isinstance(user_id, (str, int)) or isinstance(user_id, bool) or len(str(user_id)) > 64:
            raise TokenError("Token has an invalid user id")
        try:  # e.g. "" or "x" for an integer key: a 500 in every user lookup otherwise
            get_user_model()._meta.pk.to_python(user_id)
        except ValidationError as e:
            raise TokenError("Token has an invalid user id") from e
        try:
            uuid.UUID(str(p[FAMILY_CLAIM]))
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            raise TokenError("Token has no valid sign-in id") from e


class AccessToken(_StrictClaimsMixin, tokens.AccessToken):
    @property  # read per token, not frozen at import time
    def lifetime(self) -> timedelta:  # type: ignore[override]
        return jwt_settings.api_settings.ACCESS_TOKEN_LIFETIME


class RefreshToken(_StrictClaimsMixin, tokens.Token):
    """A refresh token; its outstanding/blacklist rows are managed by accounts.services."""

    token_type = "refresh"  # noqa: S105 - a claim value, not a secret

    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]
        return jwt_settings.api_settings.REFRESH_TOKEN_LIFETIME


def fingerprint(raw_token: str) -> str:
    """Return the stored stand-in for a refresh token: its SHA-256, never replayable."""
    return "sha256:" + hashlib.sha256(raw_token.encode()).hexdigest()
