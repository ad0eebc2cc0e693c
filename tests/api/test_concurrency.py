"""Many clients refreshing the same refresh token at the same moment: at most one wins."""

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import SignInFamily
from tests.api.conftest import API_UA, claims, pair, refresh
from tests.concurrent import concurrently
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
THREADS = 12
ROUNDS = 3


def _race(raw_refresh: str, threads: int = THREADS) -> list[int]:
    """Fire `threads` refreshes of one token at once, each thread on its own DB connection."""
    return concurrently(lambda: refresh(APIClient(HTTP_USER_AGENT=API_UA), raw_refresh).status_code, threads)


def _assert_one_winner(statuses: list[int], raw_refresh: str) -> None:
    counts = Counter(statuses)
    assert set(counts) <= {200, 401}, counts
    assert counts[200] == 1, counts  # the first to lock the token wins; never two
    jti = claims(raw_refresh)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).count() == 1
    # The losers presented a token that was already used: that is reuse, so the family ends.
    family = SignInFamily.objects.get(pk=claims(raw_refresh)["sid"])
    assert family.revoked_at is not None and family.revoke_reason == "reuse detected"


@pytest.fixture(autouse=True)
def _no_rate_limit() -> Any:
    """These tests fire more refreshes than the default rate allows; the throttle is not under test."""
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "10000/min"}}
    with override_settings(REST_FRAMEWORK=rest):
        yield


@pytest.mark.services
def test_concurrent_refresh_on_postgresql(transactional_db: Any) -> None:
    assert connection.vendor == "postgresql"
    make_user("alice")
    client = APIClient(HTTP_USER_AGENT=API_UA)
    for _ in range(ROUNDS):
        raw = pair(client)["refresh"]
        _assert_one_winner(_race(raw), raw)


@pytest.mark.services
def test_concurrent_refresh_of_different_families_all_succeed(transactional_db: Any) -> None:
    """Control: the lock is per token, so independent sign-ins refresh in parallel fine."""
    make_user("alice")
    client = APIClient(HTTP_USER_AGENT=API_UA)
    tokens = [pair(client)["refresh"] for _ in range(8)]
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []

    def one(raw: str) -> None:
        try:
            c = APIClient(HTTP_USER_AGENT=API_UA)
            barrier.wait(timeout=30)
            statuses.append(refresh(c, raw).status_code)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=one, args=(t,)) for t in tokens]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert statuses == [200] * len(tokens)
    assert not SignInFamily.objects.filter(revoked_at__isnull=False).exists()


def test_concurrent_refresh_on_a_sqlite_file(tmp_path: Path) -> None:
    """The embedded set-up (SQLite file, BEGIN IMMEDIATE), in a child process of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SQLITE_PATH=str(tmp_path / "race.sqlite3"),
        DJANGO_LOG_LEVEL="ERROR",
        API_TOKEN_THROTTLE_RATE="10000/min",
    )
    out = subprocess.run(
        [sys.executable, "-m", "tests.api.sqlite_race", str(THREADS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["statuses"].count(200) == 1, result
    assert set(result["statuses"]) == {200, 401}, result
    assert result["revoke_reason"] == "reuse detected"
