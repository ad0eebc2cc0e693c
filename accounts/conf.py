"""The accounts app's settings: one object, defaults overridable through settings.ACCOUNTS."""

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # How many proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
    "TRUSTED_PROXY_COUNT": 0,
    # A session's last_activity/IP/user agent are written at most this often (seconds).
    "SESSION_ACTIVITY_INTERVAL": 60,
    # An API sign-in family never outlives this, however often it is refreshed (seconds).
    "FAMILY_ABSOLUTE_LIFETIME": 60 * 60 * 24 * 30,
    # Each process re-reads the revocation generation at most this long after the last read
    # (seconds); this bounds how late another server sees a revocation.
    "REVOCATION_POLL_INTERVAL": 0.5,
    # Each process also compares with the database this often, whatever Redis says, so a
    # revocation whose Redis publish was lost is still seen (seconds).
    "REVOCATION_RECONCILE_INTERVAL": 5.0,
    # Cache alias holding the published revocation generation.
    "REVOCATION_CACHE_ALIAS": "default",
    # Verified access tokens remembered per process (exact token string to claims).
    "VERIFIED_TOKEN_CACHE_SIZE": 10_000,
    # Longest stored user-agent string.
    "USER_AGENT_MAX_LENGTH": 512,
    # A browser session ends this long after sign-in, however active (seconds; 0: no limit).
    "SESSION_ABSOLUTE_LIFETIME": 60 * 60 * 24 * 30,
    # Sign-in throttling (accounts.throttling): failures per account and per client IP
    # in each fixed window (seconds); beyond them sign-in answers 429 until the window ends.
    "LOGIN_THROTTLE_ENABLED": True,
    "LOGIN_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_FAILURES_PER_IP": 50,
    "LOGIN_FAILURE_WINDOW": 15 * 60,
    # Cache alias for the counters; its errors must not be ignored (it fails closed).
    "LOGIN_THROTTLE_CACHE_ALIAS": "throttle",
    # Retry-After (seconds) when the throttle cache cannot answer.
    "LOGIN_THROTTLE_UNAVAILABLE_RETRY": 30,
    # Most active credentials (browser sessions and API sign-ins together) one user may hold;
    # a sign-in beyond it revokes the user's oldest ones (0: no cap).
    "MAX_CREDENTIALS_PER_USER": 100,
    # Email the user when they sign in from a device and network not seen before.
    "NEW_DEVICE_ALERTS": True,
    # Email the user when someone else (an operator) revokes their credentials.
    "REVOCATION_ALERTS": True,
    # Base URL for links in emails, e.g. "https://auth.example.com" (empty: the request's host).
    "SITE_URL": "",
    # Privacy: store client IPs truncated to their network (IPv4 /24, IPv6 /48).
    "TRUNCATE_IP_ADDRESSES": False,
    # Privacy: store user agents only as the parsed browser and OS ("Firefox 121 on Linux").
    "PARSED_USER_AGENT_ONLY": False,
    # Retention (days) of audit events, of expired or revoked credential metadata after they
    # ended, and of known devices after their last sign-in; the clean-up command purges them.
    "AUDIT_RETENTION_DAYS": 365,
    "CREDENTIAL_RETENTION_DAYS": 0,
    "KNOWN_DEVICE_RETENTION_DAYS": 180,
}


class AccountsSettings:
    """Read settings.ACCOUNTS lazily, falling back to DEFAULTS."""

    def __init__(self) -> None:
        self._cached: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid accounts setting: {name!r}")
        if name not in self._cached:
            user = getattr(settings, "ACCOUNTS", {})
            self._cached[name] = user.get(name, DEFAULTS[name])
        return self._cached[name]

    def reload(self) -> None:
        self._cached.clear()


accounts_settings = AccountsSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "ACCOUNTS":
        accounts_settings.reload()


setting_changed.connect(_reload, dispatch_uid="accounts.conf.reload")
