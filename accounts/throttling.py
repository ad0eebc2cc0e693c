"""Sign-in throttling: failed logins counted per account and per client IP, failing closed.

Every sign-in entry point (the site form, the admin form, the API token endpoint) asks
`login_blocked()` before checking a password and reports the outcome with
`login_record()`. Counters live in a dedicated cache alias whose errors are NOT
ignored: if the cache cannot answer, sign-in is refused (never unlimited).

Windows are fixed and aligned (``now // window``), so the wait until the next
window is exact on every cache backend.
"""

import hashlib
import logging
import time
import unicodedata
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest

from accounts.conf import accounts_settings
from accounts.request_meta import client_ip

logger = logging.getLogger(__name__)


class LoginBlocked:
    """Why a sign-in attempt is refused and for how long (seconds)."""

    __slots__ = ("reason", "retry_after")

    def __init__(self, retry_after: int, reason: str) -> None:
        self.retry_after = max(1, int(retry_after))
        self.reason = reason  # "throttled" or "unavailable"

    def __repr__(self) -> str:
        return f"LoginBlocked({self.retry_after}, {self.reason!r})"


def normalize_username(username: Any) -> str:
    """Return the account key of a submitted username: NFKC, case-folded, stripped."""
    text = username if isinstance(username, str) else ""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _keys(request: HttpRequest, username: Any, window: int, now: float) -> tuple[str, str]:
    bucket = int(now // window)
    account = hashlib.sha256(normalize_username(username).encode("utf-8", "surrogatepass")).hexdigest()
    ip = client_ip(request) or "unknown"
    return f"login-fail:a:{account}:{bucket}", f"login-fail:i:{ip}:{bucket}"


def _cache() -> Any:
    return caches[accounts_settings.LOGIN_THROTTLE_CACHE_ALIAS]


def login_blocked(request: HttpRequest, username: Any) -> LoginBlocked | None:
    """Return why this sign-in attempt must be refused now, or None to let it proceed."""
    if not accounts_settings.LOGIN_THROTTLE_ENABLED:
        return None
    window = accounts_settings.LOGIN_FAILURE_WINDOW
    now = time.time()
    account_key, ip_key = _keys(request, username, window, now)
    try:
        counts = _cache().get_many([account_key, ip_key])
    except Exception:  # any cache failure must refuse, never allow unlimited tries
        logger.warning("login throttle cache unavailable: refusing sign-in", exc_info=True)
        return LoginBlocked(accounts_settings.LOGIN_THROTTLE_UNAVAILABLE_RETRY, "unavailable")
    retry_after = window - int(now % window)
    if int(counts.get(account_key) or 0) >= accounts_settings.LOGIN_FAILURES_PER_ACCOUNT:
        return LoginBlocked(retry_after, "throttled")
    if int(counts.get(ip_key) or 0) >= accounts_settings.LOGIN_FAILURES_PER_IP:
        return LoginBlocked(retry_after, "throttled")
    return None


def login_record(request: HttpRequest, username: Any, *, success: bool) -> None:
    """Count a failed sign-in against the account and the IP; a success clears the account's count.

    The IP count is never cleared by a success, so signing in to one's own account
    does not reset an attacker's budget for guessing others.
    """
    if not accounts_settings.LOGIN_THROTTLE_ENABLED:
        return
    window = accounts_settings.LOGIN_FAILURE_WINDOW
    account_key, ip_key = _keys(request, username, window, time.time())
    cache = _cache()
    try:
        if success:
            cache.delete(account_key)
            return
        for key in (account_key, ip_key):
            # add() sets the expiry once; incr() keeps it (Redis INCR, locmem alike).
            cache.add(key, 0, timeout=window + 1)
            cache.incr(key)
    except Exception:  # the next login_blocked() fails closed on the same error
        logger.warning("login throttle cache unavailable: failure not recorded", exc_info=True)
