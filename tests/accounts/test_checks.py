"""`manage.py check` names the setting to fix when accounts is set up in a way that cannot work."""

from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from accounts.checks import check_accounts_settings

AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
OURS = "accounts.middleware.AccountsMiddleware"


def ids() -> list[str]:
    return [message.id for message in check_accounts_settings()]


def accounts(**values: Any) -> override_settings:
    return override_settings(ACCOUNTS={**getattr(settings, "ACCOUNTS", {}), **values})


def test_this_project_and_the_bare_one_are_clean() -> None:
    assert ids() == []
    call_command("check")  # raises SystemCheckError on any error


def test_an_unknown_key_is_named() -> None:
    with accounts(MAX_CREDENTIALS_PER_USR=5):
        [message] = check_accounts_settings()
    assert message.id == "accounts.E001"
    assert "MAX_CREDENTIALS_PER_USR" in message.msg


@pytest.mark.parametrize("value", [-1, "100", 2.5, True])
def test_counts_and_retention_must_be_whole_numbers(value: Any) -> None:
    with accounts(AUDIT_RETENTION_DAYS=value):
        [message] = check_accounts_settings()
    assert message.id == "accounts.E002"
    assert "AUDIT_RETENTION_DAYS" in message.msg


def test_a_missing_throttle_cache_is_an_error_that_stops_check() -> None:
    caches = {"default": settings.CACHES["default"]}
    with override_settings(CACHES=caches):
        assert ids() == ["accounts.E003"]
        with pytest.raises(SystemCheckError, match=r"accounts\.E003"):
            call_command("check")
    with override_settings(CACHES=caches), accounts(LOGIN_THROTTLE_ENABLED=False):
        assert ids() == []  # no throttle, no cache needed


def test_a_revocation_cache_alias_must_exist_or_be_none() -> None:
    with accounts(REVOCATION_CACHE_ALIAS="nowhere"):
        assert ids() == ["accounts.E004"]
    with accounts(REVOCATION_CACHE_ALIAS=None):
        assert ids() == []


def test_a_foreign_session_engine_is_a_warning() -> None:
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        assert ids() == ["accounts.W001"]


def test_the_middleware_must_be_there_and_after_authentication() -> None:
    without = [m for m in settings.MIDDLEWARE if m != OURS]
    with override_settings(MIDDLEWARE=without):
        assert ids() == ["accounts.W002"]
    before_auth = list(without)
    before_auth.insert(before_auth.index(AUTH), OURS)
    with override_settings(MIDDLEWARE=before_auth):
        assert ids() == ["accounts.E005"]
