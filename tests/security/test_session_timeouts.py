"""Browser sessions: idle timeout (SESSION_COOKIE_AGE) and absolute lifetime, on a controlled clock."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import Session
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

AGE = settings.SESSION_COOKIE_AGE
DAY = 24 * 60 * 60


def signed_in(client: Client) -> bool:
    response = client.get("/accounts/sessions/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


@pytest.fixture
def clock(time_machine: Any) -> Any:
    time_machine.move_to("2030-01-01 00:00:00+00:00", tick=False)
    return time_machine


def test_session_cookie_age_is_two_weeks_by_default() -> None:
    assert AGE == 14 * DAY


def test_activity_extends_the_idle_expiry(user: Any, browser: Client, clock: Any) -> None:
    sign_in(browser, "alice")
    assert signed_in(browser)
    for _ in range(2):  # active every (AGE - 2 min): never idles out, though 2 x AGE pass
        clock.shift(AGE - 120)
        assert signed_in(browser)
        row = Session.objects.get(user=user)
        # The row's expiry is pushed to now + SESSION_COOKIE_AGE: the age is an idle window.
        assert abs(row.expire_date - (timezone.now() + timedelta(seconds=AGE))) < timedelta(seconds=61)


def test_idle_longer_than_the_cookie_age_signs_out(user: Any, browser: Client, clock: Any) -> None:
    sign_in(browser, "alice")
    assert signed_in(browser)
    clock.shift(AGE + 1)
    assert not signed_in(browser)
    assert not Session.objects.filter(user=user, expire_date__gt=timezone.now()).exists()


@override_settings(ACCOUNTS={"SESSION_ABSOLUTE_LIFETIME": 3 * DAY})
def test_absolute_lifetime_ends_even_a_busy_session(user: Any, browser: Client, clock: Any) -> None:
    sign_in(browser, "alice")
    for _ in range(3):
        clock.shift(DAY - 60)
        assert signed_in(browser)
    clock.shift(4 * 60)  # 3 days + 1 minute after sign-in, last activity 4 minutes ago
    assert not signed_in(browser)
    assert not Session.objects.filter(user=user).exists()


@override_settings(ACCOUNTS={"SESSION_ABSOLUTE_LIFETIME": 3 * DAY})
def test_signing_in_again_restarts_the_absolute_clock(user: Any, browser: Client, clock: Any) -> None:
    sign_in(browser, "alice")
    clock.shift(2 * DAY)
    assert signed_in(browser)
    assert browser.post("/accounts/logout/").status_code == 302
    sign_in(browser, "alice")
    clock.shift(2 * DAY)
    assert signed_in(browser)


def test_absolute_lifetime_defaults_to_30_days(user: Any, browser: Client, clock: Any) -> None:
    assert settings.ACCOUNTS["SESSION_ABSOLUTE_LIFETIME"] == 30 * DAY
    sign_in(browser, "alice")
    for _ in range(30):
        clock.shift(DAY)
        assert signed_in(browser)
    clock.shift(120)
    assert not signed_in(browser)


def test_a_session_ended_by_a_timeout_cannot_be_replayed(user: Any, browser: Client, clock: Any) -> None:
    sign_in(browser, "alice")
    stolen = browser.cookies[settings.SESSION_COOKIE_NAME].value
    clock.shift(AGE + 1)
    assert not signed_in(browser)
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert thief.get("/accounts/sessions/").status_code == 302
