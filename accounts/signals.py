"""Signals for integrators: a credential was created or revoked.

Both are sent by the accounts services (never by views), once per credential, after the
transaction that created or revoked it commits: a receiver sees the committed state and
is never told about a change that was rolled back. A receiver that raises is logged and
does not affect the sign-in or the revocation, nor the other receivers.

`credential_revoked` is also sent when the owner signs out of the site or admin (Django's
logout(): reason "signed out"). Nothing is sent when a credential simply expires or is purged.

Arguments (all keyword):

- `sender`: the model class of the credential (`accounts.models.Session` or
  `accounts.models.SignInFamily`; SimpleJWT's `OutstandingToken` for a refresh token
  that belongs to no sign-in family);
- `kind`: `"session"` (a browser session), `"token"` (an API sign-in: one
  `POST /api/token/` and every refresh token rotated from it) or `"refresh_token"`
  (a refresh token outside any sign-in family);
- `user`: the user the credential belongs to (a user instance);
- `credential_id`: the credential's public id as a string (a session's `public_id`,
  a sign-in's `sid`, a family-less refresh token's `jti`);
- `reason`: why (`credential_revoked` only; e.g. "revoked by the user", "reuse detected");
- `actor`: the user (a user instance) whose request revoked it: the owner themself for their
  own sign-out or revocation, an operator in the admin; None when no signed-in person did
  (reuse detection, a password reset link, the cap, a management command)
  (`credential_revoked` only);
- `ip`: the client IP of the request that caused it, if any (as stored: see privacy).
"""

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

credential_created = Signal()
credential_revoked = Signal()

KIND_SESSION = "session"
KIND_TOKEN = "token"  # noqa: S105 - a credential kind, not a secret
KIND_REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a credential kind, not a secret


def send_after_commit(signal: Signal, **kwargs: Any) -> None:
    """Send `signal` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(signal, kwargs))


def _send(signal: Signal, kwargs: dict[str, Any]) -> None:
    for receiver, result in signal.send_robust(**kwargs):
        if isinstance(result, Exception):
            logger.error(
                "accounts signal receiver %r failed for %s %s",
                receiver,
                kwargs.get("kind"),
                kwargs.get("credential_id"),
                exc_info=result,
            )
