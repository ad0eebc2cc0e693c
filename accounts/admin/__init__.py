"""Operator admin: sessions, API sign-ins, refresh tokens, users and the revocation audit trail.

Nothing here revokes by itself: every action calls accounts.services.revocation with
the operator as actor. No page shows a session key, session data or a raw token.
"""

from accounts.admin import credentials, emergency, events, tokens, users

__all__ = ["credentials", "emergency", "events", "tokens", "users"]
