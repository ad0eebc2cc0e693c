"""Revocation latency: revoke an API sign-in through app server A, poll app server B until 401.

    .venv/bin/python bench/revocation_latency.py [--trials 200] [--json FILE]

Two gunicorn servers (2 workers each) share the PostgreSQL database and Redis. Per trial: a new
sign-in family; B accepts its access token (so B's workers have it verified and cached); the user
revokes it with DELETE /api/me/sessions/<id>/ on A; B is polled with GET /api/me/ until it answers
401. Latency is from A's 204 answer to B's first 401 (also reported from the moment A was asked).
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, servers

GIVE_UP_S = 5.0


def call(base: str, method: str, path: str, token: str) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
        return conn.getresponse().status
    finally:
        conn.close()


def trial(a: str, b: str, user: Any) -> tuple[float, float]:
    """Return (seconds from A's answer, seconds from asking A) until B refuses the token."""
    from accounts.services import families

    pair = families.family_start(user=user, ip="127.0.0.1", user_agent="bench")
    for _ in range(4):  # both of B's workers have usually seen (and cached) the token now
        assert call(b, "GET", "/api/me/", pair.access) == 200
    asked = time.perf_counter()
    status = call(a, "DELETE", f"/api/me/sessions/{pair.family.pk}/", pair.access)
    answered = time.perf_counter()
    assert status == 204, status
    while call(b, "GET", "/api/me/", pair.access) != 401:
        if time.perf_counter() - answered > GIVE_UP_S:
            return float("inf"), float("inf")
    refused = time.perf_counter()
    return refused - answered, refused - asked


def _pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def run(*, trials: int, log_dir: Path) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create(username="latency", email="latency@example.com")
    after_answer, after_ask = [], []
    with (
        servers.app_server(workers=2, log_dir=log_dir) as a,
        servers.app_server(workers=2, log_dir=log_dir) as b,
    ):
        for _ in range(trials):
            x, y = trial(a, b, user)
            after_answer.append(x * 1000)
            after_ask.append(y * 1000)
    result: dict[str, Any] = {"trials": trials, "servers": 2, "workers_per_server": 2}
    for label, values in (("from_answer_ms", after_answer), ("from_request_ms", after_ask)):
        result[label] = {
            "p50": _pct(values, 50),
            "p99": _pct(values, 99),
            "max": max(values),
            "min": min(values),
        }
    result["gave_up"] = sum(1 for v in after_answer if v == float("inf"))
    return result


def report(r: dict[str, Any]) -> str:
    x, y = r["from_answer_ms"], r["from_request_ms"]
    return (
        f"revocation latency over {r['trials']} trials (revoke on A, poll B until 401):\n"
        f"  from A's answer:   p50 {x['p50']:.0f} ms  p99 {x['p99']:.0f} ms  max {x['max']:.0f} ms\n"
        f"  from asking A:     p50 {y['p50']:.0f} ms  p99 {y['p99']:.0f} ms  max {y['max']:.0f} ms"
        + (f"\n  NOT refused within {GIVE_UP_S} s: {r['gave_up']} trials" if r["gave_up"] else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if os.environ.get("BENCH_DATABASE_URL"):
                common.django_setup(os.environ["BENCH_DATABASE_URL"])
                result = run(trials=args.trials, log_dir=Path(tmp))
            else:
                with common.scratch_database("_latency") as url:
                    common.django_setup(url)
                    common.migrate()
                    result = run(trials=args.trials, log_dir=Path(tmp))
                    from django.db import connections

                    connections.close_all()
        finally:
            common.drop_cache_keys()
    return common.emit(report(result), result, args.json)


if __name__ == "__main__":
    sys.exit(main())
