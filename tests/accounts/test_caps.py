"""The per-user credential cap: a sign-in beyond MAX_CREDENTIALS_PER_USER revokes the oldest credentials.

Real sign-ins (login form, POST /api/token/); the data is committed (transaction=True) so
credential_revoked receivers run as they do in production, after commit.
"""

from typing import Any

import jwt
import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import RevocationEvent, Session, SignInFamily
from accounts.services.revocation import CAP_REASON
from accounts.signals import credential_revoked
from tests.concurrent import concurrently
from tests.conftest import BROWSER_UA
from tests.factories import PASSWORD, make_family, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: Any) -> Any:
    return make_user("alice")


@pytest.fixture
def revoked_seen() -> Any:
    """What credential_revoked receivers are told, in order."""
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append({"sender": sender, **kwargs})

    credential_revoked.connect(receiver, weak=False, dispatch_uid="tests.test_caps")
    yield seen
    credential_revoked.disconnect(dispatch_uid="tests.test_caps")


def cap(limit: int) -> override_settings:
    return override_settings(
        ACCOUNTS={**getattr(settings, "ACCOUNTS", {}), "MAX_CREDENTIALS_PER_USER": limit}
    )


class Browser:
    """A browser signed in through the login form."""

    def __init__(self, username: str = "alice") -> None:
        self.client = Client(HTTP_USER_AGENT=BROWSER_UA)
        self.sign_in(username)

    def sign_in(self, username: str = "alice") -> None:
        response = self.client.post("/accounts/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        self.key = self.client.cookies[settings.SESSION_COOKIE_NAME].value
        self.id = str(Session.objects.get(session_key=self.key).public_id)

    def signed_in(self) -> bool:
        response = self.client.get("/accounts/sessions/")
        assert response.status_code in (200, 302)
        return response.status_code == 200


class Api:
    """An API client signed in with POST /api/token/."""

    def __init__(self, username: str = "alice") -> None:
        response = APIClient(HTTP_USER_AGENT=BROWSER_UA).post(
            "/api/token/", {"username": username, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200, response.content[:500]
        self.access, self.refresh = response.json()["access"], response.json()["refresh"]
        self.id = jwt.decode(self.access, options={"verify_signature": False})["sid"]

    def me(self) -> Any:
        return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {self.access}")

    def signed_in(self) -> bool:
        response = self.me()
        if response.status_code == 401:
            assert response.json()["code"] == "token_revoked", response.json()
            refreshed = APIClient().post("/api/token/refresh/", {"refresh": self.refresh}, format="json")
            assert refreshed.status_code == 401
            return False
        assert response.status_code == 200
        return True


def active_count(user: Any) -> int:
    return (
        Session.objects.filter(user=user).count()
        + SignInFamily.objects.filter(user=user, revoked_at__isnull=True).count()
    )


@pytest.mark.project  # signs in or revokes through /api/
def test_passing_the_cap_revokes_the_oldest_credential_of_either_kind(
    alice: Any, revoked_seen: list[dict[str, Any]]
) -> None:
    with cap(3):
        first_browser, first_api, second_browser = Browser(), Api(), Browser()
        assert RevocationEvent.objects.count() == 0
        second_api = Api()  # the fourth: the oldest (a browser session) goes
        assert not first_browser.signed_in()  # its cookie is signed out
        assert first_api.signed_in()
        third_browser = Browser()  # the oldest is now an API sign-in
        assert not first_api.signed_in()  # 401 token_revoked, refresh refused
        for survivor in (second_browser, second_api, third_browser):
            assert survivor.signed_in()
        assert active_count(alice) == 3

    events = list(RevocationEvent.objects.order_by("created_at"))
    assert [(e.action, e.user, e.actor, e.count, e.reason) for e in events] == [
        (RevocationEvent.Action.CAP, alice, None, 1, CAP_REASON),
        (RevocationEvent.Action.CAP, alice, None, 1, CAP_REASON),
    ]
    assert [(s["sender"], s["kind"], s["credential_id"], s["reason"], s["actor"]) for s in revoked_seen] == [
        (Session, "session", first_browser.id, "credential cap reached", None),
        (SignInFamily, "token", first_api.id, "credential cap reached", None),
    ]
    assert all(s["user"] == alice for s in revoked_seen)


@pytest.mark.project  # signs in or revokes through /api/
def test_the_credential_just_created_is_never_the_one_revoked(alice: Any) -> None:
    with cap(1):
        browser = Browser()
        api = Api()  # replaces the session
        assert api.signed_in() and not browser.signed_in()
        browser.sign_in()  # a session row whose user column is filled only at the end of the request
        assert browser.signed_in() and not api.signed_in()
        browser.sign_in()  # signing in again in the same browser: the key rotates, still one credential
        assert browser.signed_in()
        assert active_count(alice) == 1
    assert RevocationEvent.objects.filter(action=RevocationEvent.Action.CAP).count() == 2


@pytest.mark.project  # signs in or revokes through /api/
def test_a_lowered_cap_revokes_every_credential_beyond_it_in_one_event(
    alice: Any, revoked_seen: list[dict[str, Any]]
) -> None:
    with cap(0):  # no cap
        old = [Browser(), Api(), Browser(), Api(), Browser()]
    assert RevocationEvent.objects.count() == 0
    with cap(2):
        newest = Api()
        assert newest.signed_in() and old[-1].signed_in()
        assert [c.signed_in() for c in old[:-1]] == [False] * 4
    event = RevocationEvent.objects.get()
    assert (event.action, event.count, event.reason) == (RevocationEvent.Action.CAP, 4, CAP_REASON)
    assert sorted(s["credential_id"] for s in revoked_seen) == sorted(c.id for c in old[:-1])
    assert active_count(alice) == 2


@pytest.mark.project  # signs in or revokes through /api/
def test_another_users_credentials_do_not_count(alice: Any) -> None:
    make_user("bob")
    with cap(2):
        bobs = [Api("bob"), Browser("bob")]
        mine = [Api(), Browser()]
        assert all(c.signed_in() for c in bobs + mine)
    assert not RevocationEvent.objects.exists()


@pytest.mark.project  # signs in or revokes through /api/
def test_the_default_cap_is_100(alice: Any) -> None:
    assert getattr(settings, "ACCOUNTS", {}).get("MAX_CREDENTIALS_PER_USER", 100) == 100
    families = [make_family(alice).family for _ in range(100)]
    assert not RevocationEvent.objects.exists()
    newest = Api()
    assert newest.signed_in()
    assert list(SignInFamily.objects.filter(revoked_at__isnull=False)) == [families[0]]
    assert active_count(alice) == 100


def test_cap_zero_means_no_limit(alice: Any) -> None:
    with cap(0):
        for _ in range(101):
            make_family(alice)
        browser = Browser()
    assert browser.signed_in()
    assert active_count(alice) == 102
    assert not RevocationEvent.objects.exists()


@pytest.mark.project  # signs in through /api/
@pytest.mark.services
def test_simultaneous_sign_ins_over_the_cap_end_exactly_at_it(
    alice: Any, revoked_seen: list[dict[str, Any]]
) -> None:
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "10000/min"}}
    with cap(3), override_settings(REST_FRAMEWORK=rest):
        old = [Api(), Browser(), Api()]
        new = concurrently(Api, threads=4)  # each sees itself beyond the cap: they take turns
        assert sum(c.signed_in() for c in new) == 3  # which three survive depends on the race
    active = active_count(alice)
    assert active == 3
    ids = [s["credential_id"] for s in revoked_seen]
    assert len(ids) == len(set(ids)) == 4  # every credential revoked once, none twice
    assert {c.id for c in old} <= set(ids)  # the three oldest went first
    events = RevocationEvent.objects.filter(action=RevocationEvent.Action.CAP)
    assert sum(e.count for e in events) == 4
