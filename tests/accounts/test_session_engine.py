"""The session engines (accounts.backends.db / cached_db) honour Django's SessionStore contract."""

import inspect
from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import middleware
from accounts.models import Session
from tests.conftest import BROWSER_UA, sign_in

ENGINES = ["accounts.backends.db", "accounts.backends.cached_db"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Sign-ins here test sessions, not hashing: skip PBKDF2's deliberate slowness."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class SessionStoreContract:
    """What Django and its test client expect of any session store; run once per engine."""

    engine: str

    @pytest.fixture(autouse=True)
    def _use_engine(self, settings: Any, db: Any) -> None:
        settings.SESSION_ENGINE = self.engine

    def store(self, session_key: str | None = None) -> SessionBase:
        return import_module(self.engine).SessionStore(session_key)

    def saved(self, **data: Any) -> SessionBase:
        s = self.store()
        s.update(data or {"colour": "blue"})
        s.save()
        return s

    def cached(self, session_key: str) -> bool:
        """Whether the cached_db engine holds this key in the cache (always False for db)."""
        prefix = getattr(import_module(self.engine).SessionStore, "cache_key_prefix", None)
        return (
            prefix is not None and caches[settings.SESSION_CACHE_ALIAS].get(prefix + session_key) is not None
        )

    def test_constructor_keeps_djangos_signature(self) -> None:
        params = list(inspect.signature(import_module(self.engine).SessionStore.__init__).parameters.values())
        assert [p.name for p in params] == ["self", "session_key"]
        assert params[1].default is None
        for s in (self.store(), self.store(None), import_module(self.engine).SessionStore(session_key=None)):
            assert s.session_key is None

    def test_new_store_is_empty_and_writes_nothing(self) -> None:
        s = self.store()
        assert s.is_empty()
        assert "colour" not in s
        assert not s.modified
        assert Session.objects.count() == 0

    def test_save_creates_a_row_another_store_can_load(self) -> None:
        s = self.saved(colour="blue", n=3)
        assert len(s.session_key) == 32
        row = Session.objects.get(pk=s.session_key)
        assert row.user_id is None
        assert abs((row.expire_date - timezone.now()).total_seconds() - settings.SESSION_COOKIE_AGE) < 60
        loaded = self.store(s.session_key)
        assert loaded["colour"] == "blue"
        assert loaded["n"] == 3
        assert loaded.session_key == s.session_key

    def test_modifying_marks_modified_and_persists(self) -> None:
        key = self.saved(colour="blue").session_key
        s = self.store(key)
        assert not s.modified
        s["colour"] = "green"
        assert s.modified
        s.save()
        again = self.store(key)
        assert again["colour"] == "green"
        again.pop("colour")
        assert again.modified
        again.save()
        assert "colour" not in self.store(key)

    def test_delete_removes_row_and_cache_entry(self) -> None:
        s = self.saved()
        key = s.session_key
        self.store(key).delete()
        assert not Session.objects.filter(pk=key).exists()
        assert not self.cached(key)
        assert self.store(key).load() == {}

    def test_delete_without_key_or_with_unknown_key_is_harmless(self) -> None:
        keep = self.saved().session_key
        self.store().delete()
        self.store().delete("x" * 32)
        assert Session.objects.filter(pk=keep).exists()

    def test_cycle_key_moves_data_to_a_new_key(self) -> None:
        s = self.saved(colour="blue")
        old = s.session_key
        s.cycle_key()
        assert s.session_key != old
        assert s["colour"] == "blue"
        assert not Session.objects.filter(pk=old).exists()
        assert not self.cached(old)
        assert self.store(old).load() == {}
        assert self.store(s.session_key)["colour"] == "blue"

    def test_flush_empties_the_session_and_deletes_the_row(self) -> None:
        s = self.saved()
        old = s.session_key
        s.flush()
        assert s.is_empty()
        assert s.session_key is None
        assert not Session.objects.filter(pk=old).exists()
        assert not self.cached(old)

    def test_exists(self) -> None:
        key = self.saved().session_key
        assert self.store().exists(key)
        assert not self.store().exists("y" * 32)

    def test_clear_expired_deletes_only_expired_rows(self) -> None:
        live = self.saved().session_key
        dead = self.saved().session_key
        Session.objects.filter(pk=dead).update(expire_date=timezone.now() - timedelta(seconds=1))
        import_module(self.engine).SessionStore.clear_expired()
        assert set(Session.objects.values_list("pk", flat=True)) == {live}

    def test_unknown_key_loads_empty_and_is_never_adopted(self) -> None:
        planted = "a" * 32
        s = self.store(planted)
        assert s.load() == {}
        assert s.session_key is None
        s["x"] = 1
        s.save()
        assert s.session_key != planted
        assert not Session.objects.filter(pk=planted).exists()

    def test_expired_session_loads_empty(self) -> None:
        s = self.store()
        s["colour"] = "blue"
        s.set_expiry(timezone.now() - timedelta(seconds=1))
        s.save()
        key = s.session_key
        assert Session.objects.filter(pk=key).exists()
        fresh = self.store(key)
        assert fresh.load() == {}
        assert fresh.session_key is None

    @pytest.mark.parametrize(
        "key",
        ["x" * 4096, "' OR 1=1--", "abc", "", "../../etc/passwd", "é" * 40, "abcd\x00efgh" * 3],
        ids=["4kb", "sql", "short", "empty", "path", "unicode", "nul"],
    )
    def test_garbage_keys_read_empty_without_a_lookup(self, key: str) -> None:
        s = self.store(key)
        assert s.session_key is None  # a key this engine could not have issued is dropped
        with CaptureQueriesContext(connection) as queries:
            assert dict(s.items()) == {}  # how SessionMiddleware/auth read the session
        assert len(queries) == 0
        assert self.store(key).load() == {}

    def test_update_save_keeps_public_id_created_at_and_device(self) -> None:
        s = self.store()
        s.client_ip = "203.0.113.7"
        s.user_agent = "Agent/1.0"
        s["colour"] = "blue"
        s.save()
        before = Session.objects.get(pk=s.session_key)
        # A store made without request metadata (e.g. a management command) updates the row.
        later = self.store(s.session_key)
        later["colour"] = "red"
        later.save()
        after = Session.objects.get(pk=s.session_key)
        assert after.public_id == before.public_id
        assert after.created_at == before.created_at
        assert after.ip == "203.0.113.7"
        assert after.user_agent == "Agent/1.0"
        assert after.last_activity >= before.last_activity
        assert after.get_decoded()["colour"] == "red"

    def test_client_login_and_force_login(self, user: Any, other_user: Any, password: str) -> None:
        client = Client()
        assert client.login(username="alice", password=password)
        row = Session.objects.get(pk=client.session.session_key)
        assert row.user_id == user.pk
        assert client.get("/accounts/sessions/").status_code == 200  # a page for signed-in users only
        other = Client()
        other.force_login(other_user)
        assert Session.objects.get(pk=other.session.session_key).user_id == other_user.pk
        assert other.get("/accounts/sessions/").status_code == 200

    def test_login_form_records_owner_ip_and_user_agent(self, user: Any) -> None:
        browser = Client(HTTP_USER_AGENT=BROWSER_UA)
        sign_in(browser, "alice")
        row = Session.objects.get(pk=browser.cookies[settings.SESSION_COOKIE_NAME].value)
        assert row.user_id == user.pk
        assert row.ip == "127.0.0.1"
        assert row.user_agent == BROWSER_UA
        assert row.get_decoded()[SESSION_KEY] == str(user.pk)

    @pytest.mark.project  # clearsessions comes with django.contrib.sessions, which accounts does not need
    def test_clearsessions_command_removes_expired_rows(self) -> None:
        live = self.saved().session_key
        dead = [self.saved().session_key for _ in range(3)]
        Session.objects.filter(pk__in=dead).update(expire_date=timezone.now() - timedelta(minutes=5))
        call_command("clearsessions")
        assert list(Session.objects.values_list("pk", flat=True)) == [live]


class TestDBStore(SessionStoreContract):
    engine = "accounts.backends.db"


class TestCachedDBStore(SessionStoreContract):
    engine = "accounts.backends.cached_db"

    def test_load_is_served_from_the_cache(self) -> None:
        key = self.saved(colour="blue").session_key
        self.store(key).load()  # warms the cache
        with CaptureQueriesContext(connection) as queries:
            assert self.store(key)["colour"] == "blue"
        assert len(queries) == 0


class FakeClock:
    """Stands in for the time module inside accounts.middleware (its only clock)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now


def _session_updates(queries: CaptureQueriesContext) -> int:
    return sum(1 for q in queries.captured_queries if q["sql"].startswith('UPDATE "accounts_session"'))


@pytest.mark.parametrize("engine", ENGINES)
def test_last_activity_written_at_most_once_a_minute(
    engine: str, settings: Any, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SESSION_ENGINE = engine
    clock = FakeClock()
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=clock.time))
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(browser, "alice")
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value

    def visit() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get("/accounts/sessions/").status_code == 200
        return _session_updates(queries)

    first = Session.objects.get(pk=key)  # signing in wrote the activity columns
    assert first.last_activity is not None
    for step in (0, 1, 30, 59):  # seconds since that write
        clock.now = 1_700_000_000.0 + step
        assert visit() == 0
    assert Session.objects.get(pk=key).last_activity == first.last_activity
    clock.now = 1_700_000_000.0 + 60
    assert visit() == 1
    second = Session.objects.get(pk=key)
    assert second.last_activity > first.last_activity
    assert second.expire_date >= first.expire_date  # the idle expiry slides with the write
    assert second.public_id == first.public_id
    assert second.created_at == first.created_at
    clock.now += 10
    assert visit() == 0


@pytest.mark.parametrize(
    "path",
    [pytest.param("/", marks=pytest.mark.project, id="home"), pytest.param("/accounts/login/", id="login")],
)
def test_anonymous_visits_create_no_session_rows(path: str, client: Any, db: Any) -> None:
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert Session.objects.count() == 0
