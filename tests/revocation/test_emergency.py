"""The emergency switch: every credential issued before a time is refused, for all users, at once;
newer credentials and new sign-ins keep working. Command, admin page, and two real app servers."""

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import GlobalCutoff, RevocationEvent, Session, SignInFamily
from accounts.services import revocation
from accounts.services.revocation_state import GENERATION_KEY, bump_generation, state
from accounts.signals import KIND_SESSION, KIND_TOKEN, credential_revoked
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import PASSWORD, make_user
from tests.revocation.live_http import Browser, call, obtain, together, two_servers, warm
from tests.revocation.live_http import me as live_me

EMERGENCY = RevocationEvent.Action.EMERGENCY
SWITCH_URL = "/admin/accounts/globalcutoff/emergency/"
CUTOFFS_URL = "/admin/accounts/globalcutoff/"


def next_second() -> datetime:
    """Wait for the next whole second and return it: what was issued before is in an earlier second."""
    now = time.time()
    boundary = int(now) + 1
    time.sleep(boundary - now + 0.02)
    return datetime.fromtimestamp(boundary, tz=UTC)


@dataclass
class Holder:
    """One user's browser session and API sign-in (tokens from POST /api/token/)."""

    username: str
    browser: Client
    access: str
    refresh: str


def holder(username: str) -> Holder:
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(browser, username)
    pair = APIClient().post("/api/token/", {"username": username, "password": PASSWORD}, format="json")
    assert pair.status_code == 200, pair.content
    return Holder(username, browser, pair.json()["access"], pair.json()["refresh"])


def me(access: str) -> Any:
    return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def refresh(token: str) -> Any:
    return APIClient().post("/api/token/refresh/", {"refresh": token}, format="json")


def assert_works(h: Holder) -> None:
    assert h.browser.get("/accounts/sessions/").status_code == 200
    assert me(h.access).status_code == 200


def assert_refused(h: Holder) -> None:
    page = h.browser.get("/accounts/sessions/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    response = me(h.access)
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    assert refresh(h.refresh).status_code == 401
    verify = APIClient().post("/api/token/verify/", {"token": h.refresh}, format="json")
    assert verify.status_code == 401


@pytest.fixture
def revoked_signals() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    credential_revoked.connect(receiver, weak=False, dispatch_uid="test_emergency")
    yield received
    credential_revoked.disconnect(dispatch_uid="test_emergency")


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_command_revokes_what_was_issued_before_and_keeps_the_rest(
    django_capture_on_commit_callbacks: Any, revoked_signals: list[dict[str, Any]]
) -> None:
    for name in ("alice", "bob", "carol"):
        make_user(name)
    old = [holder("alice"), holder("bob")]
    for h in old:
        assert_works(h)
    old_sessions = {str(p) for p in Session.objects.values_list("public_id", flat=True)}
    old_families = {str(p) for p in SignInFamily.objects.values_list("pk", flat=True)}
    boundary = next_second()
    new = [holder("alice"), holder("carol")]

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "revoke_credentials_before",
            "--before",
            boundary.isoformat(),
            "--reason",
            "leaked key",
            "--noinput",
            stdout=out,
        )

    assert "2 browser sessions and 2 API sign-ins" in out.getvalue()
    assert "Revoked 4 credentials" in out.getvalue()
    for h in old:
        assert_refused(h)
    for h in new:
        assert_works(h)
        rotated = refresh(h.refresh)
        assert rotated.status_code == 200
        assert me(rotated.json()["access"]).status_code == 200
    # Signing in afterwards works, in a browser and through the API.
    again = holder("bob")
    assert_works(again)

    event = RevocationEvent.objects.get(action=EMERGENCY)
    assert (event.count, event.user_id, event.actor_id, event.reason) == (4, None, None, "leaked key")
    cutoff = GlobalCutoff.objects.get()
    assert (cutoff.not_before, cutoff.actor_id, cutoff.reason) == (boundary, None, "leaked key")
    got = {(s["kind"], s["credential_id"], s["user"].username) for s in revoked_signals}
    sessions = {(k, i) for k, i, _ in got if k == KIND_SESSION}
    families = {(k, i) for k, i, _ in got if k == KIND_TOKEN}
    assert sessions == {(KIND_SESSION, i) for i in old_sessions}
    assert families == {(KIND_TOKEN, i) for i in old_families}
    assert {u for _, _, u in got} == {"alice", "bob"}
    assert all(s["reason"] == "leaked key" and s["actor"] is None for s in revoked_signals)
    assert len(revoked_signals) == 4


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_credentials_are_refused_from_the_cutoff_before_the_sweep_reaches_them(user: Any) -> None:
    """The state between the cutoff's commit and the batched clean-up: rows still exist, nothing passes."""
    old = holder(user.username)
    unstamped = Client(HTTP_USER_AGENT=BROWSER_UA)
    unstamped.force_login(user)  # a session this middleware never saw, so never stamped
    boundary = next_second()
    new = holder(user.username)
    GlobalCutoff.objects.create(not_before=boundary)
    bump_generation()
    assert Session.objects.filter(created_at__lt=boundary).count() == 2
    assert SignInFamily.objects.filter(created_at__lt=boundary, revoked_at__isnull=True).count() == 1

    assert_refused(old)
    page = unstamped.get("/accounts/sessions/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert_works(new)


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_switch_works_in_batches_and_skips_what_is_already_dead(user: Any, other_user: Any) -> None:
    holders = [holder(u.username) for u in (user, other_user) for _ in range(3)]
    APIClient().post("/api/token/blacklist/", {"refresh": holders[0].refresh}, format="json")  # dead already
    Client().get("/accounts/login/")  # no session for a visitor who is not signed in
    event = revocation.credentials_revoke_issued_before(before=timezone.now(), batch_size=2)
    assert event.count == 6 + 5
    assert not Session.objects.exists()
    assert not SignInFamily.objects.filter(revoked_at__isnull=True).exists()
    for h in holders:
        assert_refused(h)


@pytest.mark.django_db
def test_service_refuses_a_future_or_naive_time() -> None:
    with pytest.raises(ValueError, match="in the future"):
        revocation.credentials_revoke_issued_before(before=timezone.now() + timedelta(minutes=1))
    with pytest.raises(ValueError, match="time zone"):
        revocation.credentials_revoke_issued_before(before=datetime(2020, 1, 1))
    assert not GlobalCutoff.objects.exists()
    assert not RevocationEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2999-01-01T00:00:00Z", "in the future"),
        ("yesterday", "not an ISO 8601 time"),
        ("2026-13-45T99:00", "not an ISO 8601 time"),
        ("", "not an ISO 8601 time"),
    ],
)
def test_command_refuses_a_bad_or_future_time(user: Any, value: str, message: str) -> None:
    session = Client()
    session.force_login(user)
    with pytest.raises(CommandError, match=message):
        call_command("revoke_credentials_before", f"--before={value}", "--noinput", stdout=io.StringIO())
    assert not GlobalCutoff.objects.exists()
    assert Session.objects.count() == 1


@pytest.mark.django_db
def test_command_asks_first_and_a_no_changes_nothing(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    session = Client()
    session.force_login(user)
    answers = iter(["no"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="Cancelled"):
        call_command("revoke_credentials_before", stdout=io.StringIO())
    assert not GlobalCutoff.objects.exists()
    assert session.get("/accounts/sessions/").status_code == 200


@pytest.mark.django_db
def test_command_takes_a_time_without_offset_in_time_zone(user: Any) -> None:
    call_command(
        "revoke_credentials_before", "--before", "2020-05-01 12:30:00", "--noinput", stdout=io.StringIO()
    )
    assert GlobalCutoff.objects.get().not_before == datetime(
        2020, 5, 1, 12, 30, tzinfo=UTC
    )  # TIME_ZONE is UTC


# Per request: the session check reads the in-process snapshot, not the database.


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_session_check_adds_no_query(user: Any, settings: Any) -> None:
    settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "REVOCATION_POLL_INTERVAL": 3600}
    old = holder(user.username)
    boundary = next_second()
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(browser, user.username)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get("/api/me/").status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    browser.get("/api/me/")  # warm up: the first request writes the session's activity
    without_cutoff = queries()
    revocation.credentials_revoke_issued_before(before=boundary)
    browser.get("/api/me/")  # this process reloads its snapshot once after a revocation
    with_cutoff = queries()
    assert len(with_cutoff) == len(without_cutoff)
    assert not any("globalcutoff" in sql.lower() for sql in with_cutoff)
    assert_refused(old)


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_session_requests_do_not_reload_the_snapshot_for_nothing(user: Any, settings: Any) -> None:
    """A snapshot loaded while the cache was empty answers to the value it restored there."""
    settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "REVOCATION_POLL_INTERVAL": 0}
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(browser, user.username)
    browser.get("/api/me/")  # writes the session's activity
    for alias in caches:
        caches[alias].delete(GENERATION_KEY)
    state.invalidate()

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get("/api/me/").status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    cold = queries()  # loads the snapshot from the database and restores the cache key
    warm = [queries() for _ in range(3)]  # every request polls the cache (interval 0)
    assert len(cold) > len(warm[0])
    assert [len(w) for w in warm] == [len(warm[0])] * 3
    assert not any("revocationgeneration" in sql.lower() for sql in warm[0])


# The admin page.


def staff(username: str, codenames: list[str], **extra: Any) -> tuple[Any, Client]:
    user = make_user(username, is_staff=True, **extra)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(client, username)
    return user, client


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_admin_get_and_preview_change_nothing(user: Any) -> None:
    victim = holder(user.username)
    _, operator = staff("operator", ["revoke_session", "revoke_token"])
    page = operator.get(SWITCH_URL)
    assert page.status_code == 200
    assert b"every browser session signed in before the time ends" in page.content
    assert b'name="before"' in page.content and b'name="reason"' in page.content

    preview = operator.post(SWITCH_URL, {"before": "", "reason": "stolen backup"})
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "before the moment you confirm" in text
    assert "2 active browser sessions" in text and "1 active API sign-in" in text
    assert "you will be signed out too" in text
    assert 'name="confirm" value="yes"' in text

    future = operator.post(SWITCH_URL, {"before": "2999-01-01 00:00:00", "confirm": "yes"})
    assert future.status_code == 200 and b"in the future" in future.content
    garbage = operator.post(SWITCH_URL, {"before": "soon", "confirm": "yes"})
    assert garbage.status_code == 200 and b"Enter a valid date/time" in garbage.content

    assert not GlobalCutoff.objects.exists() and not RevocationEvent.objects.exists()
    assert_works(victim)
    assert operator.get(SWITCH_URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_admin_switch_with_a_time_keeps_the_newer_operator_signed_in(user: Any) -> None:
    victim = holder(user.username)
    boundary = next_second()
    operator_user, operator = staff("operator", ["revoke_session", "revoke_token"])
    preview = operator.post(SWITCH_URL, {"before": boundary.isoformat(), "reason": "leaked key"})
    assert preview.status_code == 200 and b"you will be signed out too" not in preview.content

    done = operator.post(
        SWITCH_URL, {"before": boundary.isoformat(), "reason": "leaked key", "confirm": "yes"}
    )
    assert done.status_code == 302 and done["Location"] == CUTOFFS_URL
    assert_refused(victim)
    listing = operator.get(CUTOFFS_URL)
    assert listing.status_code == 200
    assert b"leaked key" in listing.content and b"Emergency switch used: 2 credentials" in listing.content
    event = RevocationEvent.objects.get(action=EMERGENCY)
    assert (event.count, event.actor_id, event.reason) == (2, operator_user.pk, "leaked key")
    assert GlobalCutoff.objects.get().actor_id == operator_user.pk


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_admin_switch_now_signs_the_operator_out_too(user: Any) -> None:
    victim = holder(user.username)
    _, operator = staff("root", [], is_superuser=True)
    done = operator.post(SWITCH_URL, {"before": "", "reason": "", "confirm": "yes"}, follow=True)
    assert done.redirect_chain[0] == (f"/admin/login/?next={CUTOFFS_URL.replace('/', '%2F')}", 302)
    assert done.status_code == 200
    assert b"you were signed out too" in done.content
    assert_refused(victim)
    page = operator.get(CUTOFFS_URL)
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")
    assert RevocationEvent.objects.get(action=EMERGENCY).count == 3  # the victim's two, the operator's one


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_admin_switch_is_refused_without_both_permissions_or_csrf(user: Any) -> None:
    victim = holder(user.username)
    for name, codenames in (("half", ["revoke_session"]), ("other", ["revoke_token", "view_globalcutoff"])):
        _, client = staff(name, codenames)
        assert client.get(SWITCH_URL).status_code == 403
        assert client.post(SWITCH_URL, {"before": "", "confirm": "yes"}).status_code == 403
    visitor = Client()
    sign_in(visitor, user.username)  # signed in, not staff
    assert visitor.get(SWITCH_URL).status_code == 302
    assert visitor.post(SWITCH_URL, {"before": "", "confirm": "yes"}).status_code == 302

    _, operator = staff("operator", ["revoke_session", "revoke_token"])
    strict = Client(HTTP_USER_AGENT=BROWSER_UA, enforce_csrf_checks=True)
    strict.cookies = operator.cookies
    assert strict.post(SWITCH_URL, {"before": "", "confirm": "yes"}).status_code == 403

    assert not GlobalCutoff.objects.exists()
    assert_works(victim)


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_cutoffs_are_listed_read_only(user: Any) -> None:
    revocation.credentials_revoke_issued_before(before=timezone.now(), reason="drill")
    _, operator = staff("viewer", ["view_globalcutoff"])
    listing = operator.get(CUTOFFS_URL)
    assert listing.status_code == 200
    assert b"drill" in listing.content and b"(a management command)" in listing.content
    assert b"emergency-switch" not in listing.content  # no link for whoever may not use it
    cutoff = GlobalCutoff.objects.get()
    assert operator.get(f"{CUTOFFS_URL}add/").status_code == 403
    assert operator.post(f"{CUTOFFS_URL}{cutoff.pk}/delete/").status_code == 403
    detail = operator.post(f"{CUTOFFS_URL}{cutoff.pk}/change/", {"reason": "edited"})
    assert detail.status_code == 403 and GlobalCutoff.objects.get().reason == "drill"
    _, switcher = staff("switcher", ["revoke_session", "revoke_token"])
    assert b"emergency-switch" in switcher.get(CUTOFFS_URL).content
    assert b"/admin/accounts/globalcutoff/" in switcher.get("/admin/").content


# Two real app servers: the switch is honoured by the other one too.


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emergency-servers")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_switch_is_honoured_by_every_app_server(log_dir: Path) -> None:
    make_user("dora")
    with two_servers(log_dir) as (a, b):
        old = obtain(a.url, "dora")
        warm(b.url, old["access"])  # B has verified it and holds a snapshot
        browser = Browser()
        browser.sign_in(a.url, "dora")
        assert browser.request(b.url, "GET", "/accounts/sessions/").status == 200
        boundary = next_second()
        new = obtain(a.url, "dora")

        call_command(
            "revoke_credentials_before", "--before", boundary.isoformat(), "--noinput", stdout=io.StringIO()
        )

        deadline = time.monotonic() + 15
        while live_me(b.url, old["access"]).status == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(3):
            for result in together([lambda: live_me(b.url, old["access"])] * 4):
                assert (result.status, result.code) == (401, "token_revoked"), result.body
        assert call(b.url, "POST", "/api/token/refresh/", data={"refresh": old["refresh"]}).status == 401
        page = browser.request(b.url, "GET", "/accounts/sessions/")
        assert page.status == 302 and "/accounts/login/" in page.headers["location"]
        assert live_me(b.url, new["access"]).status == 200
        assert live_me(a.url, new["access"]).status == 200


# Key rotation, as docs/emergency.md describes it.


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_secret_key_rotation_keeps_sessions_only_with_the_old_key_as_fallback(
    user: Any, settings: Any
) -> None:
    kept, dropped = Client(HTTP_USER_AGENT=BROWSER_UA), Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(kept, user.username)
    sign_in(dropped, user.username)
    api = holder(user.username)
    reset_token = default_token_generator.make_token(user)
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated-" + old_key, [old_key]
    assert kept.get("/accounts/sessions/").status_code == 200  # re-issued under the new key
    assert default_token_generator.check_token(user, reset_token)

    settings.SECRET_KEY_FALLBACKS = []
    page = dropped.get("/accounts/sessions/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert kept.get("/accounts/sessions/").status_code == 200
    assert not default_token_generator.check_token(user, reset_token)
    assert me(api.access).status_code == 200  # the JWTs have their own key


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_hasher")
def test_jwt_key_rotation_refuses_every_token_signed_with_the_old_key(user: Any, settings: Any) -> None:
    h = holder(user.username)
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "SIGNING_KEY": "rotated-" + settings.SIMPLE_JWT["SIGNING_KEY"],
    }
    response = me(h.access)
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert refresh(h.refresh).status_code == 401
    assert h.browser.get("/accounts/sessions/").status_code == 200  # sessions do not use that key
    fresh = APIClient().post("/api/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert me(fresh.json()["access"]).status_code == 200
