"""System checks (`manage.py check`, and every start-up): a misconfigured accounts app says so at once.

Each check names the setting to fix. Errors are set-ups that would refuse every sign-in or
crash at the first request; warnings are set-ups that work but lose a guarantee.
"""

from typing import Any

from django.conf import settings
from django.core import checks

from accounts.conf import DEFAULTS, accounts_settings

OUR_ENGINES = ("accounts.backends.db", "accounts.backends.cached_db")
MIDDLEWARE = "accounts.middleware.AccountsMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
WHOLE_NUMBERS = (
    "MAX_CREDENTIALS_PER_USER",
    "AUDIT_RETENTION_DAYS",
    "CREDENTIAL_RETENTION_DAYS",
    "KNOWN_DEVICE_RETENTION_DAYS",
    "TRUSTED_PROXY_COUNT",
)


@checks.register(checks.Tags.compatibility)
def check_accounts_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    unknown = sorted(set(getattr(settings, "ACCOUNTS", {})) - set(DEFAULTS))
    if unknown:
        messages.append(
            checks.Error(
                f"ACCOUNTS has unknown keys: {', '.join(unknown)}.",
                hint="The keys are listed in accounts/conf.py DEFAULTS (and docs/integrating.md).",
                id="accounts.E001",
            )
        )
    for name in WHOLE_NUMBERS:
        if name in unknown:
            continue
        value = getattr(accounts_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            messages.append(
                checks.Error(
                    f"ACCOUNTS[{name!r}] must be a whole number, 0 or more (got {value!r}).",
                    id="accounts.E002",
                )
            )
    messages += _check_cache_aliases()
    messages += _check_sessions_and_middleware()
    return messages


def _check_cache_aliases() -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    if (
        accounts_settings.LOGIN_THROTTLE_ENABLED
        and accounts_settings.LOGIN_THROTTLE_CACHE_ALIAS not in settings.CACHES
    ):
        messages.append(
            checks.Error(
                f"The sign-in throttle's cache alias {accounts_settings.LOGIN_THROTTLE_CACHE_ALIAS!r} "
                "is not in CACHES: every sign-in would be refused (the throttle fails closed).",
                hint="Add that alias to CACHES (see docs/integrating.md), or set "
                "ACCOUNTS['LOGIN_THROTTLE_CACHE_ALIAS'] to an existing alias.",
                id="accounts.E003",
            )
        )
    alias = accounts_settings.REVOCATION_CACHE_ALIAS
    if alias and alias not in settings.CACHES:
        messages.append(
            checks.Error(
                f"ACCOUNTS['REVOCATION_CACHE_ALIAS'] is {alias!r}, which is not in CACHES.",
                hint="Name an alias from CACHES, or set it to None to read revocations from the "
                "database only.",
                id="accounts.E004",
            )
        )
    return messages


def _check_sessions_and_middleware() -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    if settings.SESSION_ENGINE not in OUR_ENGINES:
        messages.append(
            checks.Warning(
                f"SESSION_ENGINE is {settings.SESSION_ENGINE!r}: browser sessions are not stored in "
                "accounts.Session, so they are neither listed nor revocable.",
                hint=f"Use one of {', '.join(OUR_ENGINES)}.",
                id="accounts.W001",
            )
        )
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE not in middleware:
        messages.append(
            checks.Warning(
                f"{MIDDLEWARE} is not in MIDDLEWARE: sessions record no IP, device or activity, and "
                "idle, absolute and emergency cut-offs are not applied to them.",
                hint=f"Add it after {AUTH_MIDDLEWARE}.",
                id="accounts.W002",
            )
        )
    elif AUTH_MIDDLEWARE in middleware and middleware.index(MIDDLEWARE) < middleware.index(AUTH_MIDDLEWARE):
        messages.append(
            checks.Error(
                f"{MIDDLEWARE} must come after {AUTH_MIDDLEWARE} in MIDDLEWARE.",
                id="accounts.E005",
            )
        )
    return messages
