"""What follows every new credential: a browser sign-in or an API sign-in (family_start)."""

from typing import Any

from django.http import HttpRequest

from accounts.models import Session, SignInFamily
from accounts.request_meta import client_ip, user_agent
from accounts.signals import KIND_SESSION, credential_created, send_after_commit


def signin_recorded(
    *,
    user: Any,
    kind: str,
    credential_id: str,
    ip: str | None,
    user_agent: str,
    request: HttpRequest | None = None,
) -> None:
    """Announce a new credential (credential_created, after commit)."""
    sender = Session if kind == KIND_SESSION else SignInFamily
    send_after_commit(
        credential_created, sender=sender, kind=kind, user=user, credential_id=credential_id, ip=ip
    )


def session_signed_in(*, request: HttpRequest, user: Any) -> None:
    """django.contrib.auth.login() just rotated the session key: record the new browser session."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key:
        return
    public_id = Session.objects.filter(session_key=key).values_list("public_id", flat=True).first()
    if public_id is None:
        return
    signin_recorded(
        user=user,
        kind=KIND_SESSION,
        credential_id=str(public_id),
        ip=client_ip(request),
        user_agent=user_agent(request),
        request=request,
    )
