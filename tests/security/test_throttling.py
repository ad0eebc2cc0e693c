"""Sign-in throttling on the site form, the admin login and /api/token/ (accounts.throttling)."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.factories import PASSWORD, make_user
from tests.live import free_port

pytestmark = pytest.mark.django_db

LIMIT = 5  # ACCOUNTS LOGIN_FAILURES_PER_ACCOUNT default


def site_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def admin_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post("/admin/login/", data, **extra)


def api_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    data = {"username": username, "password": password}
    return APIClient().post("/api/token/", data, format="json", **extra)


ENTRY_POINTS = {"site": site_login, "admin": admin_login, "api": api_login}


def _succeeded(kind: str, response: Any) -> bool:
    if kind == "api":
        return response.status_code == 200
    return response.status_code == 302


def _assert_throttled(kind: str, response: Any) -> None:
    assert response.status_code == 429, response.content[:300]
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    if kind == "api":
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "throttled"
    else:
        assert b"Too many failed sign-in attempts" in response.content


@pytest.mark.parametrize("kind", ENTRY_POINTS)
class TestEachEntryPoint:
    def test_failures_beyond_the_limit_lock_the_account_even_for_the_right_password(self, kind: str) -> None:
        make_user("alice", is_staff=True)
        login = ENTRY_POINTS[kind]
        for _ in range(LIMIT):
            response = login(Client(), "alice", "wrong-password")
            assert response.status_code in (200, 401)
        _assert_throttled(kind, login(Client(), "alice", "wrong-password"))
        _assert_throttled(kind, login(Client(), "alice", PASSWORD))
        # Another account is not affected.
        make_user("bob", is_staff=True)
        assert _succeeded(kind, login(Client(), "bob", PASSWORD))

    def test_rotating_x_forwarded_for_does_not_reset_the_count(self, kind: str) -> None:
        make_user("alice", is_staff=True)
        login = ENTRY_POINTS[kind]
        with override_settings(ACCOUNTS={"TRUSTED_PROXY_COUNT": 1}):
            for i in range(LIMIT):
                login(Client(), "alice", "nope", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 192.0.2.1")
            response = login(Client(), "alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.77")
        _assert_throttled(kind, response)

    def test_unknown_and_known_accounts_get_the_same_answers(self, kind: str) -> None:
        make_user("alice", is_staff=True)
        login = ENTRY_POINTS[kind]
        known = [login(Client(), "alice", "nope") for _ in range(LIMIT + 1)]
        unknown = [login(Client(), "nobody-here", "nope") for _ in range(LIMIT + 1)]
        assert [r.status_code for r in known] == [r.status_code for r in unknown]
        if kind == "api":
            assert [r.json()["code"] for r in known] == [r.json()["code"] for r in unknown]
            assert known[0].json() == unknown[0].json()

    def test_a_success_clears_the_account_count(self, kind: str) -> None:
        make_user("alice", is_staff=True)
        login = ENTRY_POINTS[kind]
        for _ in range(LIMIT - 1):
            login(Client(), "alice", "nope")
        assert _succeeded(kind, login(Client(), "alice", PASSWORD))
        for _ in range(LIMIT - 1):
            login(Client(), "alice", "nope")
        assert _succeeded(kind, login(Client(), "alice", PASSWORD))


def test_the_account_key_ignores_case_and_unicode_width() -> None:
    make_user("alice")
    for name in ("ALICE", "Alice", "\uff41\uff4c\uff49\uff43\uff45", " alice ", "alice"):
        api_login(Client(), name, "nope")
    _assert_throttled("api", api_login(Client(), "alice", PASSWORD))


def test_one_ip_guessing_many_accounts_is_limited() -> None:
    make_user("alice")
    with override_settings(ACCOUNTS={"LOGIN_FAILURES_PER_IP": 3}):
        for i in range(3):
            api_login(Client(), f"victim{i}", "nope")
        _assert_throttled("api", api_login(Client(), "alice", PASSWORD))
        # Another client IP still signs in.
        assert api_login(Client(), "alice", PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_the_lock_ends_with_the_window(time_machine: Any) -> None:
    make_user("alice")
    time_machine.move_to("2030-01-01 00:00:00+00:00", tick=False)
    for _ in range(LIMIT):
        api_login(Client(), "alice", "nope")
    response = api_login(Client(), "alice", PASSWORD)
    _assert_throttled("api", response)
    assert int(response["Retry-After"]) == 15 * 60
    time_machine.shift(15 * 60 + 1)
    assert api_login(Client(), "alice", PASSWORD).status_code == 200


def test_invalid_bodies_are_not_counted() -> None:
    make_user("alice")
    for _ in range(LIMIT + 2):
        assert APIClient().post("/api/token/", {"username": "alice"}, format="json").status_code == 400
        assert site_login(Client(), "alice", "").status_code == 200
    assert api_login(Client(), "alice", PASSWORD).status_code == 200


@pytest.fixture
def dead_throttle_cache(tmp_path: Path) -> Iterator[None]:
    """Point the throttle alias at a private redis-server, then stop that server."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        location = f"redis://127.0.0.1:{port}/0"
        throttle = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": False},
        }
        from django.conf import settings

        with override_settings(CACHES={**settings.CACHES, "throttle": throttle}):
            deadline = time.monotonic() + 10
            while True:  # wait until the private server answers
                try:
                    caches["throttle"].set("ping", 1)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            make_user("alice", is_staff=True)
            for kind, login in ENTRY_POINTS.items():  # it works while Redis is up
                assert _succeeded(kind, login(Client(), "alice", PASSWORD))
            process.terminate()
            process.wait(timeout=10)
            caches["throttle"].close()
            yield
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.services
@pytest.mark.parametrize("kind", ENTRY_POINTS)
def test_redis_down_fails_closed(dead_throttle_cache: None, kind: str) -> None:
    login = ENTRY_POINTS[kind]
    for password in ("nope", PASSWORD):
        response = login(Client(), "alice", password)
        assert response.status_code == 429, response.content[:300]
        assert int(response["Retry-After"]) > 0
    if kind != "api":
        assert b"temporarily unavailable" in response.content
