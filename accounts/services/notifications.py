"""Emails to users about their credentials: a sign-in from a new device, an operator's revocation.

Messages are built in the request (templates under accounts/templates/accounts/email/) and
sent after the transaction commits, one at a time, on a background thread: a slow or failing
mail server never delays or fails a sign-in or a revocation. A failed send is logged (the
user's id, never the message). `wait_for_emails()` blocks until the queue is empty (tests,
graceful shutdown); at interpreter exit the queue is also drained. SMTP connections are
bounded by Django's EMAIL_TIMEOUT setting.
"""

import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.audit import current_request
from accounts.conf import accounts_settings
from accounts.privacy import stored_ip
from accounts.signals import KIND_REFRESH_TOKEN, KIND_SESSION, KIND_TOKEN
from accounts.user_agents import device

logger = logging.getLogger(__name__)

# Emails waiting beyond this (a mail server down under load) are dropped, with a warning.
MAX_QUEUED = 1000

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_queued: set[Future[None]] = set()


def new_device_alert(
    *, user: Any, user_agent: str, ip: str | None, when: datetime, request: HttpRequest | None = None
) -> None:
    """Email the user that they signed in from a device and network not seen before."""
    context = {
        "device": _device_name(user_agent),
        "ip": stored_ip(ip) or _("unknown"),  # as stored: truncated with TRUNCATE_IP_ADDRESSES
        "when": _utc(when),
    }
    _send_after_commit(user=user, template="new_device", context=context, request=request)


def revocation_alert(*, user: Any, actor: Any, count: int, kinds: Iterable[str], reason: str) -> None:
    """Email the user that someone else (an operator) revoked their credentials.

    Nothing is sent for the user's own revocations, for system ones (no actor: reuse
    detection, the cap, commands), when nothing was revoked, or when REVOCATION_ALERTS is off.
    """
    if not accounts_settings.REVOCATION_ALERTS or user is None or actor is None or count == 0:
        return
    if str(getattr(actor, "pk", "")) == str(getattr(user, "pk", "")):
        return
    context = {"what": _describe_revoked(list(kinds)), "count": count, "reason": reason}
    _send_after_commit(user=user, template="revoked", context=context, request=current_request())


def wait_for_emails(timeout: float | None = None) -> bool:
    """Block until every queued email was sent (or failed); False if `timeout` seconds passed first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _lock:
            pending = next((f for f in _queued if not f.done()), None)
        if pending is None:
            return True
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        try:
            pending.exception(timeout=remaining)
        except TimeoutError:
            return False


def sessions_url(request: HttpRequest | None = None) -> str:
    """Return the absolute URL of "Where you're signed in" (SITE_URL, else the request's host)."""
    path = reverse("accounts-sessions")
    if accounts_settings.SITE_URL:
        return accounts_settings.SITE_URL.rstrip("/") + path
    request = request or current_request()
    if request is not None:
        try:
            return request.build_absolute_uri(path)
        except (DisallowedHost, KeyError):  # KeyError: a request built by hand has no host at all
            pass
    return path


def _send_after_commit(
    *, user: Any, template: str, context: dict[str, Any], request: HttpRequest | None
) -> None:
    """Render the message now; queue it for the background sender once the transaction commits.

    Never raises: an email that cannot be built is logged, and the sign-in or revocation goes on.
    """
    user_id = getattr(user, "pk", None)
    try:
        address = getattr(user, user.get_email_field_name(), "") or ""
        if not address:
            return
        context = {
            **context,
            "user": user,
            "username": user.get_username(),
            "sessions_url": sessions_url(request),
        }
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
        message = EmailMessage(
            subject=" ".join(subject.split()),
            body=render_to_string(f"accounts/email/{template}.txt", context),
            to=[address],
        )
    except Exception:
        logger.exception("accounts: could not build the %s email to user %s", template, user_id)
        return
    transaction.on_commit(lambda: _queue(message, template=template, user_id=user_id), robust=True)


def _queue(message: EmailMessage, *, template: str, user_id: Any) -> None:
    global _executor
    with _lock:
        if len(_queued) >= MAX_QUEUED:
            logger.warning("accounts: email queue full, %s email to user %s dropped", template, user_id)
            return
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accounts-email")
        future = _executor.submit(_deliver, message, template, user_id)
        _queued.add(future)
    future.add_done_callback(_done)


def _done(future: Future[None]) -> None:
    with _lock:
        _queued.discard(future)


def _deliver(message: EmailMessage, template: str, user_id: Any) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("accounts: could not send the %s email to user %s", template, user_id)


def _reset_after_fork() -> None:
    """A forked child has no sender thread: start afresh (the parent still sends its own queue)."""
    global _executor, _lock
    _executor = None
    _lock = threading.Lock()
    _queued.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def _device_name(user_agent: str) -> str:
    """Return "Chrome 120 on Windows 10"; never the raw string of an unrecognised agent,
    which whoever signed in chose (it could carry a link into the user's mailbox)."""
    return device(user_agent or "") or _("an unrecognised device")


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


KIND_NAMES = {
    KIND_SESSION: lambda n: ngettext("%(count)d browser session", "%(count)d browser sessions", n),
    KIND_TOKEN: lambda n: ngettext("%(count)d API sign-in", "%(count)d API sign-ins", n),
    KIND_REFRESH_TOKEN: lambda n: ngettext("%(count)d refresh token", "%(count)d refresh tokens", n),
}


def _describe_revoked(kinds: list[str]) -> str:
    """Return e.g. "2 browser sessions and 1 API sign-in"."""
    parts = [
        KIND_NAMES[kind](kinds.count(kind)) % {"count": kinds.count(kind)}
        for kind in KIND_NAMES
        if kind in kinds
    ]
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(first)s and %(last)s") % {"first": ", ".join(parts[:-1]), "last": parts[-1]}
