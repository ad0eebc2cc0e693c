"""The operator admin, driven through the test client: screens, force-revoke actions, permissions, secrets."""

import hashlib
import io
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import RevocationEvent, Session, SignInFamily
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import TokenPair, make_family, make_user

pytestmark = pytest.mark.django_db

VIEW_PERMS = [
    "view_session",
    "view_signinfamily",
    "view_revocationevent",
    "view_outstandingtoken",
    "view_blacklistedtoken",
    "view_user",
    "change_user",
]
REVOKE_PERMS = ["revoke_session", "revoke_token"]
# A refresh token some other code stored raw (SimpleJWT's default): it must never be shown.
LEGACY_RAW = "eyJhbGciOiJIUzI1NiJ9.eyJsZWdhY3kiOnRydWV9.bGVnYWN5LXNpZ25hdHVyZS1ub3Qtc2hvd24"

SESSIONS = "/admin/accounts/session/"
FAMILIES = "/admin/accounts/signinfamily/"
OUTSTANDING = "/admin/token_blacklist/outstandingtoken/"
BLACKLISTED = "/admin/token_blacklist/blacklistedtoken/"
EVENTS = "/admin/accounts/revocationevent/"
USERS = "/admin/auth/user/"


def staff(username: str, codenames: list[str]) -> Client:
    user = make_user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator() -> Client:
    return staff("operator", VIEW_PERMS + REVOKE_PERMS)


@pytest.fixture
def viewer() -> Client:
    return staff("viewer", VIEW_PERMS)


class Victim:
    """Alice, signed in from two browsers and two API clients, with every secret she holds."""

    def __init__(self) -> None:
        self.user = make_user("alice")
        self.browsers = [Client(HTTP_USER_AGENT=BROWSER_UA) for _ in range(2)]
        for browser in self.browsers:
            sign_in(browser, "alice")
        self.pairs: list[TokenPair] = [
            make_family(self.user, ip="203.0.113.7", user_agent=BROWSER_UA) for _ in range(2)
        ]
        legacy = OutstandingToken.objects.create(
            user=self.user, jti="legacy-jti-1", token=LEGACY_RAW, expires_at=self.pairs[0].family.expires_at
        )
        BlacklistedToken.objects.create(token=legacy)

    @property
    def session_keys(self) -> list[str]:
        return [b.cookies["sessionid"].value for b in self.browsers]

    def secrets(self) -> list[str]:
        data = list(Session.objects.values_list("session_data", flat=True))
        return [
            *self.session_keys,
            *data,
            *[p.refresh for p in self.pairs],
            *[p.access for p in self.pairs],
            LEGACY_RAW,
            *OutstandingToken.objects.values_list("token", flat=True),  # the stored fingerprints in full
        ]

    def session(self, i: int = 0) -> Session:
        return Session.objects.get(session_key=self.session_keys[i])


@pytest.fixture
def alice() -> Victim:
    return Victim()


def assert_no_secrets(html: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret and secret not in html, f"secret leaked: {secret[:6]}…"


def me(access: str) -> Any:
    return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def refresh(token: str) -> Any:
    return APIClient().post("/api/token/refresh/", {"refresh": token}, format="json")


def confirm(client: Client, url: str, action: str, selected: list[str], **extra: str) -> Any:
    return client.post(url, {"action": action, "_selected_action": selected, **extra})


def test_every_page_renders_and_shows_no_secret(operator: Client, alice: Victim) -> None:
    secrets = alice.secrets()
    session = alice.session()
    family = alice.pairs[0].family
    token = OutstandingToken.objects.filter(family_link__family=family).first()
    blacklisted = BlacklistedToken.objects.first()
    make_family(alice.user)  # and one event to list
    event = RevocationEvent.objects.create(user=alice.user, action="family", target=str(family.pk))
    pages = [
        "/admin/",
        "/admin/accounts/",
        SESSIONS,
        f"{SESSIONS}?status=active",
        f"{SESSIONS}?q=alice",
        f"{SESSIONS}{session.public_id}/change/",
        FAMILIES,
        f"{FAMILIES}?status=revoked",
        f"{FAMILIES}{family.pk}/change/",
        OUTSTANDING,
        f"{OUTSTANDING}?status=blacklisted",
        f"{OUTSTANDING}{token.pk}/change/",
        BLACKLISTED,
        f"{BLACKLISTED}{blacklisted.pk}/change/",
        EVENTS,
        f"{EVENTS}{event.pk}/change/",
        USERS,
        f"{USERS}{alice.user.pk}/change/",
        f"{USERS}{alice.user.pk}/sign-out-everywhere/",
    ]
    for url in pages:
        response = operator.get(url)
        assert response.status_code == 200, url
        assert_no_secrets(response.content.decode(), secrets)
    confirmations = [
        (
            SESSIONS,
            "revoke_sessions",
            [str(Session.objects.get(session_key=k).public_id) for k in alice.session_keys],
        ),
        (FAMILIES, "revoke_families", [str(p.family.pk) for p in alice.pairs]),
        (OUTSTANDING, "blacklist_tokens", [str(t.pk) for t in OutstandingToken.objects.all()]),
        (USERS, "sign_out_everywhere", [str(alice.user.pk)]),
    ]
    for url, action, selected in confirmations:
        response = confirm(operator, url, action, selected)
        assert response.status_code == 200, url
        assert b"Yes, revoke" in response.content
        assert_no_secrets(response.content.decode(), secrets)


def test_tokens_show_a_fingerprint_not_the_token(operator: Client, alice: Victim) -> None:
    page = operator.get(OUTSTANDING).content.decode()
    stored = OutstandingToken.objects.get(family_link__family=alice.pairs[0].family).token
    assert stored.removeprefix("sha256:")[:12] in page
    assert hashlib.sha256(LEGACY_RAW.encode()).hexdigest()[:12] in page
    assert LEGACY_RAW not in page and stored not in page


def test_session_urls_use_the_public_id_never_the_key(operator: Client, alice: Victim) -> None:
    session = alice.session()
    page = operator.get(SESSIONS).content.decode()
    assert f"{SESSIONS}{session.public_id}/change/" in page
    assert operator.get(f"{SESSIONS}{session.session_key}/change/").status_code == 404
    assert operator.get(f"{SESSIONS}{session.session_key}/").status_code == 404
    assert operator.get(f"{SESSIONS}add/").status_code == 404
    detail = operator.get(f"{SESSIONS}{session.public_id}/change/")
    assert b"Firefox 121 on Linux" in detail.content and b"alice" in detail.content


def test_revoke_selected_sessions(operator: Client, alice: Victim) -> None:
    target = alice.session(0)
    page = confirm(operator, SESSIONS, "revoke_sessions", [str(target.public_id)])
    assert str(target.public_id).encode() in page.content
    assert Session.objects.filter(pk=target.pk).exists()  # nothing happens before confirming

    done = confirm(
        operator, SESSIONS, "revoke_sessions", [str(target.public_id)], post="yes", reason="stolen laptop"
    )
    assert done.status_code == 302
    assert not Session.objects.filter(pk=target.pk).exists()
    assert "Revoked 1 browser session." in [str(m) for m in done.wsgi_request._messages]
    assert alice.browsers[0].get("/accounts/sessions/").status_code == 302  # signed out
    assert alice.browsers[1].get("/accounts/sessions/").status_code == 200  # the other survives
    event = RevocationEvent.objects.get(action="session")
    assert event.actor.username == "operator" and event.user == alice.user
    assert (event.reason, event.ip, event.target) == ("stolen laptop", "127.0.0.1", str(target.public_id))


@pytest.mark.project  # proves the tokens fail through /api/
def test_revoke_selected_sign_ins_kills_access_tokens_at_once(operator: Client, alice: Victim) -> None:
    victim, survivor = alice.pairs
    assert me(victim.access).status_code == 200
    page = confirm(operator, FAMILIES, "revoke_families", [str(victim.family.pk)])
    assert page.status_code == 200 and str(victim.family.pk).encode() in page.content

    done = confirm(operator, FAMILIES, "revoke_families", [str(victim.family.pk)], post="yes", reason="leak")
    assert "Revoked 1 API sign-in." in [str(m) for m in done.wsgi_request._messages]
    response = me(victim.access)
    assert response.status_code == 401 and response.json()["code"] == "token_revoked"
    assert refresh(victim.refresh).status_code == 401
    assert me(survivor.access).status_code == 200
    event = RevocationEvent.objects.get(action="family")
    assert (event.actor.username, event.reason, event.target) == ("operator", "leak", str(victim.family.pk))


@pytest.mark.project  # proves the tokens fail through /api/
def test_blacklist_selected_refresh_tokens(operator: Client, alice: Victim) -> None:
    victim = alice.pairs[0]
    token = OutstandingToken.objects.get(family_link__family=victim.family)
    page = confirm(operator, OUTSTANDING, "blacklist_tokens", [str(token.pk)])
    assert token.token.removeprefix("sha256:")[:12].encode() in page.content

    done = confirm(operator, OUTSTANDING, "blacklist_tokens", [str(token.pk)], post="yes")
    assert done.status_code == 302
    assert BlacklistedToken.objects.filter(token=token).exists()
    assert SignInFamily.objects.get(pk=victim.family.pk).revoked_at is not None
    assert me(victim.access).json()["code"] == "token_revoked"
    assert refresh(victim.refresh).status_code == 401
    assert RevocationEvent.objects.get(action="token").actor.username == "operator"


@pytest.mark.project  # proves the tokens fail through /api/
def test_sign_out_everywhere_button(operator: Client, alice: Victim) -> None:
    user_page = operator.get(f"{USERS}{alice.user.pk}/change/").content.decode()
    url = f"{USERS}{alice.user.pk}/sign-out-everywhere/"
    assert url in user_page
    assert str(alice.session().public_id) in user_page  # the panel lists her sessions
    assert str(alice.pairs[0].family.pk)[:8] in user_page
    page = operator.get(url)
    assert page.status_code == 200 and b"Yes, sign them out everywhere" in page.content

    done = operator.post(url, {"reason": "account stolen"})
    assert done.status_code == 302 and done["Location"] == f"{USERS}{alice.user.pk}/change/"
    assert not Session.objects.filter(user=alice.user).exists()
    assert not SignInFamily.objects.filter(user=alice.user, revoked_at__isnull=True).exists()
    for pair in alice.pairs:
        assert me(pair.access).json()["code"] == "token_revoked"
        assert refresh(pair.refresh).status_code == 401
    for browser in alice.browsers:
        assert browser.get("/accounts/sessions/").status_code == 302
    event = RevocationEvent.objects.get(action="everywhere")
    assert (event.actor.username, event.count, event.reason) == ("operator", 4, "account stolen")
    log = LogEntry.objects.get(object_id=str(alice.user.pk))
    assert "Signed out everywhere" in log.get_change_message()


@pytest.mark.project  # proves the tokens fail through /api/
def test_sign_out_everywhere_bulk_action(operator: Client, alice: Victim) -> None:
    bob = make_user("bob")
    bob_pair = make_family(bob)
    page = confirm(operator, USERS, "sign_out_everywhere", [str(alice.user.pk), str(bob.pk)])
    assert b"alice" in page.content and b"bob" in page.content

    done = confirm(operator, USERS, "sign_out_everywhere", [str(alice.user.pk), str(bob.pk)], post="yes")
    assert "5 credentials revoked" in " ".join(str(m) for m in done.wsgi_request._messages)
    assert me(bob_pair.access).json()["code"] == "token_revoked"
    assert me(alice.pairs[0].access).json()["code"] == "token_revoked"
    assert RevocationEvent.objects.filter(action="everywhere", actor__username="operator").count() == 2
    assert LogEntry.objects.filter(object_id=str(bob.pk)).exists()


def test_staff_without_revoke_permissions_can_look_but_not_revoke(viewer: Client, alice: Victim) -> None:
    session = alice.session()
    token = OutstandingToken.objects.filter(family_link__family=alice.pairs[0].family).first()
    for url in (SESSIONS, FAMILIES, OUTSTANDING, USERS):
        page = viewer.get(url)
        assert page.status_code == 200
        assert b'name="action"' not in page.content
    assert b"Revoke this session" not in viewer.get(f"{SESSIONS}{session.public_id}/change/").content
    assert b"Revoke this sign-in" not in viewer.get(f"{FAMILIES}{alice.pairs[0].family.pk}/change/").content
    user_page = viewer.get(f"{USERS}{alice.user.pk}/change/").content
    assert b"sign-out-everywhere" not in user_page
    posts = [
        (SESSIONS, "revoke_sessions", str(session.public_id)),
        (FAMILIES, "revoke_families", str(alice.pairs[0].family.pk)),
        (OUTSTANDING, "blacklist_tokens", str(token.pk)),
        (USERS, "sign_out_everywhere", str(alice.user.pk)),
    ]
    for url, action, selected in posts:
        assert confirm(viewer, url, action, [selected], post="yes").status_code == 403
    sign_out = f"{USERS}{alice.user.pk}/sign-out-everywhere/"
    assert viewer.get(sign_out).status_code == 403
    assert viewer.post(sign_out).status_code == 403
    assert Session.objects.filter(user=alice.user).count() == 2
    assert not RevocationEvent.objects.exists()


def test_non_staff_never_reach_admin(alice: Victim) -> None:
    browser = alice.browsers[0]
    for url in (SESSIONS, f"{USERS}{alice.user.pk}/sign-out-everywhere/"):
        response = browser.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = browser.post(f"{USERS}{alice.user.pk}/sign-out-everywhere/")
    assert response.status_code == 302
    assert Session.objects.filter(user=alice.user).count() == 2


def test_events_are_read_only(operator: Client, alice: Victim) -> None:
    event = RevocationEvent.objects.create(
        user=alice.user, action="family", target=str(alice.pairs[0].family.pk)
    )
    assert operator.get(f"{EVENTS}add/").status_code == 403
    assert operator.get(f"{EVENTS}{event.pk}/delete/").status_code == 403
    operator.post(f"{EVENTS}{event.pk}/change/", {"reason": "edited"})
    event.refresh_from_db()
    assert event.reason == ""
    found = operator.get(f"{EVENTS}?q={alice.pairs[0].family.pk}").content.decode()
    assert f"{FAMILIES}{alice.pairs[0].family.pk}/change/" in found  # linked to the sign-in


def test_search_and_filters(operator: Client, alice: Victim) -> None:
    make_user("bob")
    bob_pair = make_family(make_user("carol"), ip="198.51.100.9")
    session = alice.session()

    def rows(url: str) -> str:
        response = operator.get(url)
        assert response.status_code == 200, url
        return response.content.decode()

    assert str(session.public_id)[:8] in rows(f"{SESSIONS}?q=ali")
    assert str(session.public_id)[:8] in rows(f"{SESSIONS}?q=ALICE@example.com")
    assert str(session.public_id)[:8] in rows(f"{SESSIONS}?q=127.0.0.1")
    assert str(session.public_id)[:8] not in rows(f"{SESSIONS}?q=bob")
    assert str(session.public_id)[:8] not in rows(f"{SESSIONS}?status=expired")
    assert str(session.public_id)[:8] in rows(f"{SESSIONS}?created_at__gte=2000-01-01+00%3A00%3A00%2B00%3A00")
    carol = str(bob_pair.family.pk)[:8]
    assert carol in rows(f"{FAMILIES}?q=198.51.100.9")
    assert carol not in rows(f"{FAMILIES}?q=203.0.113.7")
    assert carol not in rows(f"{FAMILIES}?status=revoked")
    assert carol in rows(f"{FAMILIES}?status=active")
    assert carol in rows(f"{OUTSTANDING}?q=carol")
    assert "legacy-jti-1" in rows(f"{BLACKLISTED}?q=alice")
    assert str(session.public_id)[:8] in rows(f"{SESSIONS}?user__id__exact={alice.user.pk}")


CHANGELISTS = [
    SESSIONS,
    f"{SESSIONS}?q=user",
    f"{SESSIONS}?status=active",
    FAMILIES,
    f"{FAMILIES}?status=active",
    OUTSTANDING,
    f"{OUTSTANDING}?status=blacklisted",
    BLACKLISTED,
    EVENTS,
    USERS,
    f"{USERS}?q=user",
]


def test_changelist_queries_do_not_grow_with_rows(operator: Client) -> None:
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert operator.get(url).status_code == 200
        return len(ctx.captured_queries)

    def add_credentials(n: int) -> None:
        for _ in range(n):
            user = make_user()
            Client(HTTP_USER_AGENT=BROWSER_UA).force_login(user)
            pair = make_family(user)
            RevocationEvent.objects.create(user=user, actor=user, action="family", target=str(pair.family.pk))
        BlacklistedToken.objects.bulk_create(
            [
                BlacklistedToken(token=t)
                for t in OutstandingToken.objects.filter(blacklistedtoken__isnull=True)
            ]
        )

    add_credentials(2)
    queries(SESSIONS)  # warm up: the first request also writes the operator's session activity
    few = {url: queries(url) for url in CHANGELISTS}
    add_credentials(12)
    assert {url: queries(url) for url in CHANGELISTS} == few
    assert max(few.values()) <= 12, few


def test_user_page_queries_are_bounded(operator: Client, alice: Victim) -> None:
    url = f"{USERS}{alice.user.pk}/change/"
    operator.get(url)  # warm up
    with CaptureQueriesContext(connection) as ctx:
        operator.get(url)
    before = len(ctx.captured_queries)
    for _ in range(5):
        make_family(alice.user)
    with CaptureQueriesContext(connection) as ctx:
        operator.get(url)
    assert len(ctx.captured_queries) == before <= 25


@pytest.mark.services
def test_seed_credentials_fills_every_screen(operator: Client) -> None:
    call_command("seed_credentials", users=40, sessions=300, tokens=200, stdout=io.StringIO())
    now = timezone.now()
    assert Session.objects.filter(user__username__startswith="seed").count() == 300
    assert OutstandingToken.objects.filter(family_link__isnull=False).count() == 200
    assert SignInFamily.objects.count() == 100
    assert (
        Session.objects.filter(expire_date__lte=now).exists()
        and Session.objects.filter(expire_date__gt=now).exists()
    )
    assert (
        BlacklistedToken.objects.exists()
        and OutstandingToken.objects.filter(blacklistedtoken__isnull=True).exists()
    )
    assert (
        RevocationEvent.objects.filter(action="family").count()
        == SignInFamily.objects.filter(revoked_at__isnull=False).count()
    )
    extra = [f"{SESSIONS}?status=expired", f"{FAMILIES}?status=revoked", f"{OUTSTANDING}?status=expired"]
    for url in [*CHANGELISTS, *extra]:
        assert operator.get(url).status_code == 200, url
