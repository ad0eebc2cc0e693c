"""Reads: one user's credentials, by indexed queries (never by decoding session data)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Session, SignInFamily
from accounts.user_agents import describe


@dataclass(frozen=True)
class Credential:
    """A browser session or an API sign-in, as listed to its owner."""

    id: str
    kind: str  # "session" or "token"
    created: datetime
    last_used: datetime
    expires: datetime
    ip: str | None
    user_agent: str
    current: bool

    @property
    def device(self) -> str:
        return describe(self.user_agent)


def session_list(*, user: Any) -> QuerySet[Session]:
    """Return the user's unexpired sessions, newest activity first (uses the user index)."""
    return (
        Session.objects.filter(user=user, expire_date__gt=timezone.now())
        .select_related("user")
        .order_by("-last_activity")
    )


def family_list(*, user: Any) -> QuerySet[SignInFamily]:
    """Return the user's active API sign-ins, newest use first."""
    return (
        SignInFamily.objects.filter(user=user, refresh_expires_at__gt=timezone.now(), revoked_at__isnull=True)
        .select_related("user")
        .order_by("-last_used_at")
    )


def session_get(*, user: Any, public_id: Any) -> Session | None:
    return session_list(user=user).filter(public_id=public_id).first()


def family_get(*, user: Any, family_id: Any) -> SignInFamily | None:
    return family_list(user=user).filter(pk=family_id).first()


def credential_list(
    *, user: Any, current_session_key: str | None = None, current_family_id: str | None = None
) -> list[Credential]:
    """Return the user's sessions and sign-ins in one list, most recently used first."""
    credentials = [
        Credential(
            id=str(s.public_id),
            kind="session",
            created=s.created_at,
            last_used=s.last_activity,
            expires=s.expire_date,
            ip=s.ip,
            user_agent=s.user_agent,
            current=current_session_key is not None and s.session_key == current_session_key,
        )
        for s in session_list(user=user)
    ] + [
        Credential(
            id=str(f.pk),
            kind="token",
            created=f.created_at,
            last_used=f.last_used_at,
            expires=f.refresh_expires_at,
            ip=f.ip,
            user_agent=f.user_agent,
            current=current_family_id is not None and str(f.pk) == str(current_family_id),
        )
        for f in family_list(user=user)
    ]
    return sorted(credentials, key=lambda c: c.last_used, reverse=True)
