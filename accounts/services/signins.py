"""What follows every new credential: a browser sign-in or an API sign-in (family_start).

In order: credential_created is announced (after commit); the per-user cap revokes the
oldest credentials beyond MAX_CREDENTIALS_PER_USER (never the new one); and the device
and network are recorded as a KnownDevice, emailing the user when the pair is new.

A user's very first sign-in (no KnownDevice rows yet: a new account, or the first sign-in
after new-device alerts were deployed or turned on) records its pair without an email.
With NEW_DEVICE_ALERTS off nothing is recorded.
"""

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import current_request
from accounts.conf import accounts_settings
from accounts.models import KnownDevice, Session, SignInFamily
from accounts.privacy import network_of, stored_ip
from accounts.request_meta import client_ip, user_agent
from accounts.services import notifications, revocation
from accounts.signals import KIND_SESSION, credential_created, credential_revoked, send_after_commit
from accounts.user_agents import device_family

logger = logging.getLogger(__name__)

SIGNED_OUT_REASON = "signed out"


def signin_recorded(
    *,
    user: Any,
    kind: str,
    credential_id: str,
    ip: str | None,
    user_agent: str,
    request: HttpRequest | None = None,
) -> None:
    """Announce a new credential, enforce the per-user cap, and alert on a new device."""
    sender = Session if kind == KIND_SESSION else SignInFamily
    send_after_commit(
        credential_created,
        sender=sender,
        kind=kind,
        user=user,
        credential_id=credential_id,
        ip=stored_ip(ip),
    )
    limit = accounts_settings.MAX_CREDENTIALS_PER_USER
    if limit:
        revocation.user_credentials_cap(
            user=user,
            limit=limit,
            keep_session_id=credential_id if kind == KIND_SESSION else None,
            keep_family_id=credential_id if kind != KIND_SESSION else None,
            ip=ip,
        )
    if accounts_settings.NEW_DEVICE_ALERTS:
        _check_device(user=user, ip=ip, user_agent=user_agent, request=request)


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


def session_signed_out(*, request: HttpRequest, user: Any) -> None:
    """django.contrib.auth.logout() is about to flush the session: announce its end.

    Signing out is the owner ending their own credential, not a revocation: no audit event
    and no generation bump (the session row goes; nothing else needs telling).
    """
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key or user is None:
        return
    public_id = Session.objects.filter(session_key=key).values_list("public_id", flat=True).first()
    if public_id is None:
        return
    send_after_commit(
        credential_revoked,
        sender=Session,
        kind=KIND_SESSION,
        user=user,
        credential_id=str(public_id),
        reason=SIGNED_OUT_REASON,
        actor=user,
        ip=stored_ip(client_ip(request)),
    )


def known_device_seen(*, user: Any, device: str, network: str) -> bool:
    """Record that the user signed in from this device and network; True if it is a new pair
    for a user who already had others (what deserves an alert).

    A known pair costs one UPDATE. Race-safe: when a concurrent sign-in inserts the same new
    pair first, the unique constraint on (user, device, network) refuses the second insert
    (inside its own savepoint) and that sign-in counts the pair as known.
    """
    now = timezone.now()
    pair = KnownDevice.objects.filter(user=user, device=device, network=network)
    if pair.update(last_seen=now):
        return False
    try:
        with transaction.atomic():
            known = KnownDevice.objects.create(
                user=user, device=device, network=network, first_seen=now, last_seen=now
            )
    except IntegrityError:
        return False
    return KnownDevice.objects.filter(user=user).exclude(pk=known.pk).exists()


def _check_device(*, user: Any, ip: str | None, user_agent: str, request: HttpRequest | None) -> None:
    """Record the device and network; email the user when the pair is new. Never fails the sign-in."""
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the sign-in's transaction usable
            is_new = known_device_seen(user=user, device=device_family(user_agent), network=network_of(ip))
            if is_new:
                notifications.new_device_alert(
                    user=user,
                    user_agent=user_agent,
                    ip=ip,
                    when=timezone.now(),
                    request=request or current_request(),
                )
    except Exception:
        logger.exception("accounts: new-device check failed for user %s", getattr(user, "pk", None))
