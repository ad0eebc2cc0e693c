"""Abuse controls: rate limits on the token endpoints (in the shared cache) and the CORS allowlist."""

import json
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.conf import global_settings, settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, assert_no_store, obtain, pair, refresh
from tests.factories import PASSWORD, make_user
from tests.live import app_server

pytestmark = pytest.mark.django_db


def rates(token_rate: str) -> Any:
    """override_settings with a small rate for the "token" scope, all else unchanged."""
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": token_rate}}
    )


def assert_throttled(response: Any) -> None:
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert_no_store(response)


class TestThrottle:
    def test_obtain_is_limited_with_retry_after(self, api: APIClient, user: Any) -> None:
        with rates("3/min"):
            assert [obtain(api).status_code for _ in range(3)] == [200, 200, 200]
            assert_throttled(obtain(api))
            assert_throttled(obtain(api, "alice", "wrong"))

    def test_failed_attempts_count_too(self, api: APIClient, user: Any) -> None:
        with rates("3/min"):
            assert [obtain(api, "alice", f"guess{i}").status_code for i in range(3)] == [401] * 3
            assert_throttled(obtain(api))

    def test_refresh_is_limited(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        cache.clear()  # start the count at zero
        with rates("2/min"):
            first = refresh(api, tokens["refresh"])
            assert first.status_code == 200
            assert refresh(api, first.json()["refresh"]).status_code == 200
            assert_throttled(refresh(api, "whatever"))

    def test_counter_lives_in_the_cache(self, api: APIClient, user: Any) -> None:
        with rates("1/min"):
            assert obtain(api).status_code == 200
            assert obtain(api).status_code == 429
            assert any(k.startswith("throttle_token_") for k in _cache_keys())
            cache.clear()
            assert obtain(api).status_code == 200

    def test_each_client_ip_has_its_own_budget(self, user: Any) -> None:
        a, b = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
        with rates("1/min"):
            assert obtain(a).status_code == 200
            assert obtain(a).status_code == 429
            assert obtain(b).status_code == 200

    def test_a_client_cannot_escape_by_forging_x_forwarded_for(self, api: APIClient, user: Any) -> None:
        with rates("2/min"):
            statuses = [
                obtain(APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")).status_code for i in range(4)
            ]
        assert statuses == [200, 200, 429, 429]

    def test_verify_and_blacklist_are_not_counted(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        cache.clear()
        with rates("1/min"):
            for _ in range(3):
                assert (
                    api.post("/api/token/verify/", {"token": tokens["access"]}, format="json").status_code
                    == 200
                )
            assert obtain(api).status_code == 200


def _cache_keys() -> list[str]:
    """The throttle keys now in the cache, whichever backend it is."""
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        return [k.split(":", 2)[-1] for k in cache._cache]  # locmem's store: "prefix:version:key"
    return [k.split(":", 2)[-1] for k in cache.keys("*")]  # django-redis


@pytest.mark.services
def test_throttle_is_shared_by_two_app_servers(transactional_db: Any, tmp_path: Path, settings: Any) -> None:
    """Two gunicorn processes on one Redis: the fourth try is refused, whichever server gets it."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # one the servers can check
    make_user("alice")
    with ExitStack() as stack:
        one, two = (
            stack.enter_context(app_server(workers=1, log_dir=tmp_path, API_TOKEN_THROTTLE_RATE="3/min"))
            for _ in range(2)
        )
        statuses = [_http_obtain(url) for url in (one.url, two.url, one.url, two.url, one.url)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def _http_obtain(base_url: str) -> int:
    body = json.dumps({"username": "alice", "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 - a loopback test server
        base_url + "/api/token/", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as e:
        assert e.headers["Retry-After"] if e.code == 429 else True
        return e.code


ALLOWED = "https://app.example.com"


class TestCors:
    @pytest.fixture(autouse=True)
    def _allow_one_origin(self) -> Any:
        with override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED]):
            yield

    def test_preflight_from_an_allowed_origin(self, api: APIClient, db: Any) -> None:
        response = api.options(
            "/api/me/",
            HTTP_ORIGIN=ALLOWED,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
        )
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == ALLOWED
        allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type"} <= allowed_headers
        assert "GET" in response["Access-Control-Allow-Methods"]
        assert "Access-Control-Allow-Credentials" not in response

    def test_actual_request_from_an_allowed_origin(self, api: APIClient, user: Any) -> None:
        response = api.post(
            "/api/token/", {"username": "alice", "password": PASSWORD}, format="json", HTTP_ORIGIN=ALLOWED
        )
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == ALLOWED
        assert "origin" in response["Vary"].lower()

    @pytest.mark.parametrize(
        "origin",
        [
            "https://evil.example",
            "null",
            "https://app.example.com.evil.net",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://sub.app.example.com",
        ],
    )
    def test_other_origins_get_no_cors_headers(self, api: APIClient, db: Any, origin: str) -> None:
        preflight = api.options(
            "/api/token/",
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
        )
        actual = api.get("/api/me/", HTTP_ORIGIN=origin)
        for response in (preflight, actual):
            assert "Access-Control-Allow-Origin" not in response
            assert "Access-Control-Allow-Headers" not in response

    def test_cors_is_only_for_the_api(self, client: Any, db: Any) -> None:
        response = client.get("/", HTTP_ORIGIN=ALLOWED)
        assert "Access-Control-Allow-Origin" not in response


def test_never_a_wildcard_origin(api: APIClient, db: Any) -> None:
    assert not getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)
    assert "*" not in settings.CORS_ALLOWED_ORIGINS
    assert not getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", [])
    for origin in ("https://evil.example", "*"):
        response = api.get("/api/me/", HTTP_ORIGIN=origin)
        assert response.get("Access-Control-Allow-Origin") is None
