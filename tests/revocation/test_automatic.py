"""Automatic revocation: a password change, password reset or deactivation (site, admin or shell)
ends every other session and API sign-in of the user, through the revocation service, audited."""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import RevocationEvent, Session, SignInFamily
from accounts.services.families import TokenPair
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import PASSWORD, make_family, make_user

pytestmark = pytest.mark.usefixtures("fast_hasher")

NEW_PASSWORD = "another-long-passphrase-77"


@dataclass
class Credentials:
    browsers: list[Client]
    pairs: list[TokenPair]


@pytest.fixture
def creds(user: Any) -> Credentials:
    browsers = [Client(HTTP_USER_AGENT=BROWSER_UA) for _ in range(2)]
    for browser in browsers:
        sign_in(browser, user.username)
    pairs = [make_family(user), make_family(user)]
    api = APIClient()
    for pair in pairs:  # verified and cached in this process before the revocation
        assert api.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {pair.access}").status_code == 200
    return Credentials(browsers, pairs)


def assert_browser_signed_out(browser: Client) -> None:
    response = browser.get("/accounts/sessions/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def assert_pair_refused(pair: TokenPair) -> None:
    api = APIClient()
    for _ in range(2):
        response = api.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {pair.access}")
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    assert api.post("/api/token/refresh/", {"refresh": pair.refresh}, format="json").status_code == 401
    assert SignInFamily.objects.get(pk=pair.family.pk).revoked_at is not None


def assert_everything_revoked(user: Any, creds: Credentials) -> None:
    for browser in creds.browsers:
        assert_browser_signed_out(browser)
    for pair in creds.pairs:
        assert_pair_refused(pair)
    assert not Session.objects.filter(user=user).exists()


def only_event(user: Any) -> RevocationEvent:
    events = list(RevocationEvent.objects.filter(user=user))
    assert len(events) == 1, events
    return events[0]


def test_password_change_on_the_site_keeps_only_the_current_session(user: Any, creds: Credentials) -> None:
    current, other = creds.browsers
    response = current.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content[:500]
    assert current.get("/accounts/sessions/").status_code == 200  # still signed in (key rotated)
    assert_browser_signed_out(other)
    for pair in creds.pairs:
        assert_pair_refused(pair)
    assert Session.objects.filter(user=user).count() == 1
    event = only_event(user)
    assert (event.action, event.actor, event.reason) == ("others", user, "password changed")
    assert event.ip == "127.0.0.1" and event.count == 3


def test_password_reset_by_email_link_signs_out_everywhere(
    user: Any, creds: Credentials, mailoutbox: list[Any]
) -> None:
    anonymous = Client()
    assert anonymous.post("/accounts/password_reset/", {"email": user.email}).status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"/accounts/reset/[^/\s]+/[^/\s]+/", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    form = anonymous.get(link.group(0))
    assert form.status_code == 302  # Django moves the token into the session
    done = anonymous.post(form["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert_everything_revoked(user, creds)
    event = only_event(user)
    assert (event.action, event.actor, event.reason) == ("everywhere", None, "password changed")
    assert event.ip == "127.0.0.1"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_set_password_in_the_shell_signs_out_everywhere(user: Any, creds: Credentials) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_everything_revoked(user, creds)
    event = only_event(user)
    assert (event.action, event.actor, event.reason, event.ip) == (
        "everywhere",
        None,
        "password changed",
        None,
    )


def test_deactivation_in_the_admin_records_the_operator(user: Any, creds: Credentials) -> None:
    admin = make_user("root", is_staff=True, is_superuser=True)
    operator = Client()
    operator.force_login(admin)
    url = f"/admin/auth/user/{user.pk}/change/"
    assert operator.get(url).status_code == 200
    joined = user.date_joined
    response = operator.post(
        url,
        {
            "username": user.username,
            "email": user.email,
            "first_name": "",
            "last_name": "",
            # is_active left out: the checkbox is unticked
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
            "initial-date_joined_0": joined.strftime("%Y-%m-%d"),
            "initial-date_joined_1": joined.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert not user.is_active
    assert_everything_revoked(user, creds)
    event = only_event(user)
    assert (event.action, event.actor, event.reason) == ("everywhere", admin, "deactivated")
    assert event.ip == "127.0.0.1"
    assert operator.get(url).status_code == 200  # the operator's own session is untouched


@pytest.mark.parametrize("update_fields", [None, ["is_active"]], ids=["save", "update_fields"])
def test_deactivation_in_the_shell_signs_out_everywhere(
    user: Any, creds: Credentials, update_fields: Any
) -> None:
    user.is_active = False
    user.save(update_fields=update_fields)
    assert_everything_revoked(user, creds)
    event = only_event(user)
    assert (event.action, event.actor, event.reason) == ("everywhere", None, "deactivated")


def test_other_saves_revoke_nothing(user: Any, creds: Credentials) -> None:
    user.first_name = "Alice"
    user.save()
    user.save(update_fields=["last_login"])
    user.save(update_fields=["password"])  # listed but unchanged
    fresh = get_user_model().objects.get(pk=user.pk)
    fresh.is_active = True  # already active
    fresh.save()
    assert not RevocationEvent.objects.exists()
    api = APIClient()
    for pair in creds.pairs:
        assert api.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {pair.access}").status_code == 200
    for browser in creds.browsers:
        assert browser.get("/accounts/sessions/").status_code == 200


def test_queryset_update_bypasses_signals_but_sessions_and_refresh_still_end(
    user: Any, creds: Credentials
) -> None:
    """The documented limitation: QuerySet.update() sends no signal, so no revocation runs.

    Sessions are still refused (Django's backend refuses inactive users) and refresh tokens too
    (rotation checks is_active); only already-issued access tokens live out their short lifetime.
    Call the revocation service (user_sign_out_everywhere) after a bulk deactivation.
    """
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert not RevocationEvent.objects.exists()
    for browser in creds.browsers:
        assert_browser_signed_out(browser)
    api = APIClient()
    for pair in creds.pairs:
        assert api.post("/api/token/refresh/", {"refresh": pair.refresh}, format="json").status_code == 401


def test_password_hash_upgrade_at_login_revokes_nothing(user: Any, settings: Any) -> None:
    """Django re-hashes a password at login when the hasher changes; that is not a password change."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user.password = make_password(PASSWORD, hasher="md5")
    user.save()
    pair = make_family(user)
    events = RevocationEvent.objects.count()
    assert authenticate(username=user.username, password=PASSWORD) is not None
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_")  # the hash was upgraded
    assert RevocationEvent.objects.count() == events
    pair.family.refresh_from_db()
    assert pair.family.revoked_at is None


def test_set_unusable_password_revokes_everything(user: Any) -> None:
    pair = make_family(user)
    user.set_unusable_password()
    user.save()
    pair.family.refresh_from_db()
    assert pair.family.revoked_at is not None
