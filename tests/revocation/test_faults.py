"""Faults with real processes: Redis stopped mid-run and restarted empty; PostgreSQL unreachable.

Redis runs privately here (its own port and directory), so stopping it touches nobody else.
PostgreSQL is never stopped: the app server reaches it through a TCP relay in this process,
and cutting the relay makes the database unreachable for that server only.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from accounts.services.revocation_state import GENERATION_KEY, _db_generation
from tests.factories import make_user
from tests.live import app_server
from tests.live import test_database_url as live_database_url
from tests.revocation.live_http import (
    Browser,
    PrivateRedis,
    Result,
    TcpRelay,
    assert_refused_within_bound,
    call,
    me,
    obtain,
    revoke_while_polling,
    together,
    two_servers,
    warm,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SLOW = 2.0  # seconds: no request may hang on a dead dependency (the socket timeouts are far below)
REDIS_KEY = f"authproject:1:{GENERATION_KEY}"  # django-redis: KEY_PREFIX:version:key


def healthy(result: Result) -> Result:
    assert result.status < 500, (result.status, str(result.body)[:300])
    assert result.elapsed < SLOW, f"request took {result.elapsed:.2f}s"
    return result


def refused_everywhere(servers: list[str], access: str) -> None:
    for base in servers:
        for result in together([lambda base=base: me(base, access)] * 4):
            assert (healthy(result).status, result.code) == (401, "token_revoked")


def accepted_everywhere(servers: list[str], access: str, browser: Browser) -> None:
    for base in servers:
        for result in together([lambda base=base: me(base, access)] * 4):
            assert healthy(result).status == 200, result.body
        for result in together([lambda base=base: browser.request(base, "GET", "/api/me/")] * 2):
            assert healthy(result).status == 200, result.body
        assert healthy(browser.request(base, "GET", "/accounts/sessions/")).status == 200


def browser_refused_everywhere(servers: list[str], cookies: dict[str, str]) -> None:
    for base in servers:
        for result in together([lambda base=base: call(base, "GET", "/api/me/", cookies=cookies)] * 4):
            assert healthy(result).status in (401, 403), result.body
        page = healthy(call(base, "GET", "/accounts/sessions/", cookies=cookies))
        assert page.status == 302 and "/accounts/login/" in page.headers["location"]


def session_id(base: str, access: str) -> str:
    listing = call(base, "GET", "/api/me/sessions/", token=access)
    ids = [c["id"] for c in listing.body if c["kind"] == "session"]
    assert len(ids) == 1
    return ids[0]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_stopped_mid_run_then_back_empty(redis: PrivateRedis, tmp_path: Path) -> None:
    for name in ("alice", "bob", "carol"):
        make_user(name)
    with two_servers(tmp_path, REDIS_URL=redis.url) as (a_server, b_server):
        a, b = a_server.url, b_server.url
        servers = [a, b]
        # Before the outage: one token revoked (and seen as revoked), others valid and warm.
        t1, t2, valid = obtain(a, "alice"), obtain(a, "alice"), obtain(a, "bob")
        bob, carol = Browser(), Browser()
        bob.sign_in(a, "bob")
        carol.sign_in(a, "carol")
        carol_token = obtain(a, "carol")
        for access in (t1["access"], t2["access"], valid["access"]):
            warm(b, access, rounds=2)
        results, revoked_at = revoke_while_polling(
            b, t1["access"], lambda: call(a, "POST", "/api/token/blacklist/", data={"refresh": t1["refresh"]})
        )
        assert_refused_within_bound(results, revoked_at, "Redis up")
        assert redis.get(REDIS_KEY) == str(_db_generation())

        redis.stop()
        # Revoked stays revoked (database fallback); valid tokens and sessions keep working.
        refused_everywhere(servers, t1["access"])
        accepted_everywhere(servers, valid["access"], bob)
        health = healthy(call(a, "GET", "/healthz"))
        assert (health.status, health.body["cache"]) == (200, "degraded")
        # A revocation made during the outage reaches the other server within the bound.
        results, revoked_at = revoke_while_polling(
            b, t2["access"], lambda: call(a, "POST", "/api/token/blacklist/", data={"refresh": t2["refresh"]})
        )
        for result in results:
            healthy(result)
        assert_refused_within_bound(results, revoked_at, "Redis down")
        refused_everywhere(servers, t2["access"])
        # A browser session revoked during the outage is refused at once on the other server.
        carol_cookies = dict(carol.cookies)
        revoke = call(
            a,
            "DELETE",
            f"/api/me/sessions/{session_id(a, carol_token['access'])}/",
            token=carol_token["access"],
        )
        assert healthy(revoke).status == 204
        browser_refused_everywhere(servers, carol_cookies)
        assert all(
            healthy(call(base, "POST", "/api/token/refresh/", data={"refresh": t2["refresh"]})).status == 401
            for base in servers
        )

        redis.start()  # same port, empty: it lost everything
        assert redis.get(REDIS_KEY) is None
        # Nothing revoked comes back to life.
        refused_everywhere(servers, t1["access"])
        refused_everywhere(servers, t2["access"])
        browser_refused_everywhere(servers, carol_cookies)
        accepted_everywhere(servers, valid["access"], bob)
        # The fast path resumes by itself: the servers put the generation back into Redis.
        deadline = time.monotonic() + 3
        while redis.get(REDIS_KEY) is None and time.monotonic() < deadline:
            for base in servers:
                me(base, valid["access"])
            time.sleep(0.1)
        assert redis.get(REDIS_KEY) == str(_db_generation())
        # ...and carries the next revocation.
        results, revoked_at = revoke_while_polling(
            b,
            valid["access"],
            lambda: call(a, "POST", "/api/token/blacklist/", data={"refresh": valid["refresh"]}),
        )
        assert_refused_within_bound(results, revoked_at, "Redis back, empty")
        refused_everywhere(servers, valid["access"])
        assert redis.get(REDIS_KEY) == str(_db_generation())


def test_database_unreachable_gives_503_json_and_recovers_without_restart(tmp_path: Path) -> None:
    make_user("alice")
    db = settings.DATABASES["default"]
    relay = TcpRelay((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)))
    relay.start()
    url = live_database_url().replace(f":{db.get('PORT') or 5432}/", f":{relay.port}/")
    try:
        with app_server(log_dir=tmp_path, workers=1, DATABASE_URL=url) as server:
            base = server.url
            revoked, valid = obtain(base, "alice"), obtain(base, "alice")
            assert (
                call(base, "POST", "/api/token/blacklist/", data={"refresh": revoked["refresh"]}).status
                == 200
            )
            browser = Browser()
            browser.sign_in(base, "alice")
            assert me(base, valid["access"]).status == 200
            pid = server.process.pid

            relay.cut()
            for _ in range(2):
                api = call(base, "GET", "/api/me/", token=valid["access"])
                assert api.elapsed < SLOW
                assert api.status == 503, (api.status, str(api.body)[:300])
                assert api.body["code"] == "database_unavailable" and api.body["detail"]
                assert api.headers["retry-after"]
                login = call(base, "POST", "/api/token/", data={"username": "alice", "password": "x" * 12})
                assert (login.status, login.body["code"]) == (503, "database_unavailable")
                health = call(base, "GET", "/healthz")
                assert health.status == 503 and health.body["database"] == "unreachable"
                page = browser.request(base, "GET", "/accounts/sessions/")
                assert page.status == 503 and page.headers["content-type"].startswith("text/html")
                assert "Traceback" not in page.body and "unavailable" in page.body
                # Never accepted once revoked, not even with the database gone.
                assert me(base, revoked["access"]).status in (401, 503)

            relay.start()  # the database is reachable again: no restart needed
            deadline = time.monotonic() + 10
            while call(base, "GET", "/healthz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert me(base, valid["access"]).status == 200
            assert browser.request(base, "GET", "/accounts/sessions/").status == 200
            assert obtain(base, "alice")["access"]
            assert (me(base, revoked["access"]).status, me(base, revoked["access"]).code) == (
                401,
                "token_revoked",
            )
            assert server.process.pid == pid and server.process.poll() is None
    finally:
        relay.cut()
