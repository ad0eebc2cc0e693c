"""Service credentials: HTTP Basic client id and secret from settings.TOKEN_INTROSPECTION_CLIENTS."""

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

REALM = "introspection"
# Compared against when the client id is unknown, so that a wrong id costs what a wrong secret does.
_NO_SECRET = "\x00" * 64


class InvalidClient(exceptions.AuthenticationFailed):
    default_detail = "Client authentication failed."
    default_code = "invalid_client"


@dataclass(frozen=True)
class ServiceClient:
    """A service that proved a configured client id and secret (not a user)."""

    client_id: str
    is_authenticated: bool = True


class IntrospectionClientAuthentication(BaseAuthentication):
    """HTTP Basic with a client id and secret (RFC 6749 section 2.3.1); nothing else is accepted.

    Every failure, a missing header included, is a 401 `invalid_client` with a Basic
    challenge: a user's JWT or session cookie is not a service credential.
    """

    def authenticate(self, request: Request) -> tuple[ServiceClient, None]:
        clients: dict[str, str] = getattr(settings, "TOKEN_INTROSPECTION_CLIENTS", None) or {}
        client_id, secret = _basic_credentials(request)
        # RFC 6749 section 2.3.1 form-encodes the id and secret before base64; many clients
        # (curl -u, requests' auth=) do not. Both spellings are checked.
        ok = False
        for cid, given in {(client_id, secret), (unquote_plus(client_id), unquote_plus(secret))}:
            expected = clients.get(cid)
            # Constant time in the secret; an unknown id compares against a dummy all the same.
            matches = hmac.compare_digest((expected or _NO_SECRET).encode(), given.encode())
            if expected is not None and matches:
                ok, client_id = True, cid
        if not ok:
            raise InvalidClient()
        return ServiceClient(client_id), None

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'


def _basic_credentials(request: Request) -> tuple[str, str]:
    """Return (client id, secret) as sent in `Authorization: Basic`; InvalidClient if absent or garbled."""
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise InvalidClient()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as e:  # ValueError covers UnicodeDecodeError
        raise InvalidClient() from e
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient()
    return client_id, secret
