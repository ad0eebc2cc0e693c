"""Shared bench plumbing: a throw-away PostgreSQL database, Django set-up, interleaved timing."""

import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def pg_server_url() -> str:
    """Return the PostgreSQL server URL (BENCH_PG_URL or DATABASE_URL), any database name."""
    return os.environ.get("BENCH_PG_URL") or os.environ.get("DATABASE_URL") or DEFAULT_PG


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or DEFAULT_REDIS


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(with_db(pg_server_url(), "postgres"), autocommit=True, connect_timeout=5) as c:
        c.execute(sql)


@contextmanager
def scratch_database(suffix: str = "") -> Iterator[str]:
    """Create an empty PostgreSQL database of this run, yield its URL, drop it afterwards."""
    prefix = os.environ.get("BENCH_DB_PREFIX", "authproject_bench")
    name = f"{prefix}_{os.getpid()}{suffix}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield with_db(pg_server_url(), name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cache_prefix() -> str:
    """A Redis key prefix of this run: the bench never flushes a Redis database it shares."""
    return os.environ.setdefault("DJANGO_CACHE_PREFIX", f"authbench{os.getpid()}")


def django_setup(database_url: str, *, sqlite_path: str = "") -> None:
    """Configure Django with the bench settings on the given database and the bench Redis."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url()
    cache_prefix()
    # Fixed for the run, so app servers started by the bench accept the tokens it mints.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_hex(24))
    os.environ.setdefault("JWT_SIGNING_KEY", "bench-jwt-" + secrets.token_hex(24))
    if sqlite_path:
        os.environ["BENCH_SQLITE_PATH"] = sqlite_path
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def migrate(*aliases: str) -> None:
    from django.core.management import call_command

    for alias in aliases or ("default",):
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def drop_cache_keys() -> None:
    """Delete this run's keys (and only them) from Redis."""
    import redis

    client = redis.Redis.from_url(redis_url())
    keys = list(client.scan_iter(match=f"*{cache_prefix()}*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])


def interleaved(
    variants: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]],
    *,
    requests: int,
    block: int = 100,
    warmup_blocks: int = 5,
) -> dict[str, list[int]]:
    """Time each call (ns) of every variant, alternating blocks of `block` calls per variant.

    Each variant is (function, arguments); call i gets arguments[i % len(arguments)].
    Block order reverses every round, so no variant always runs after the same neighbour.
    """
    names = list(variants)
    samples: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    rounds = -(-requests // block)
    for r in range(warmup_blocks + rounds):
        order = names if r % 2 == 0 else names[::-1]
        start = r * block
        for name in order:
            fn, args = variants[name]
            n = len(args)
            out = samples[name]
            for i in range(start, start + block):
                arg = args[i % n]
                t0 = clock()
                fn(arg)
                t1 = clock()
                if r >= warmup_blocks:
                    out.append(t1 - t0)
    return samples


def summary(ns: list[int]) -> dict[str, float]:
    """Median, p90 and p99 in microseconds, and the sample count."""
    q = statistics.quantiles(ns, n=100, method="inclusive")
    return {
        "median_us": statistics.median(ns) / 1000,
        "p90_us": q[89] / 1000,
        "p99_us": q[98] / 1000,
        "n": len(ns),
    }


def emit(text: str, result: Any, json_path: Path | None) -> int:
    """Print a step's report and, when asked, save its raw result as JSON; return exit status 0."""
    print(text)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2))
    return 0
