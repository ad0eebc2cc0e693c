"""In-process per-request authentication cost of every variant, interleaved in one run.

    .venv/bin/python bench/inprocess.py [--requests 20000] [--json FILE]

Sessions: SessionMiddleware + AuthenticationMiddleware resolving request.user (session row,
then user row) on SQLite, on PostgreSQL, and with the cached_db engine (Redis in front).
JWT and DRF token variants: DRF's authenticate() on a Request. Floors: the primitives.
Run by bench/run.py (BENCH_DATABASE_URL, BENCH_SQLITE_PATH set and migrated), or alone.
"""

import argparse
import hashlib
import hmac
import os
import random
import sys
import tempfile
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

CLIENTS = 500  # distinct users/credentials, requests drawn at random among them

# name -> label shown in the report
LABELS = {
    "session-sqlite": "DB session, SQLite (session row + user row)",
    "session-db": "DB session, PostgreSQL (session row + user row)",
    "session-cached": "cached_db session, Redis + PostgreSQL user row",
    "jwt-user": "SimpleJWT JWTAuthentication (loads the user)",
    "jwt-stateless": "SimpleJWT JWTStatelessUserAuthentication",
    "jwt-revocation": "this project: JWT + revocation check",
    "drf-token": "DRF TokenAuthentication (database token)",
    "floor-pyjwt": "floor: PyJWT decode + verify",
    "floor-hmac": "floor: one HMAC-SHA256",
    "floor-redis": "floor: one Redis GET",
    "floor-pg": "floor: one PostgreSQL primary-key SELECT",
}


def _users(count: int, prefix: str = "u") -> list[Any]:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    users = [
        user_model(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com", password="!bench")
        for i in range(count)
    ]
    created = user_model.objects.bulk_create(users)
    if "sqlite" in _databases():
        user_model.objects.using("sqlite").bulk_create(
            [user_model(pk=u.pk, username=u.username, email=u.email, password=u.password) for u in created]
        )
    return created


def _databases() -> dict[str, Any]:
    from django.conf import settings

    return settings.DATABASES


def _session_keys(engine: str, users: list[Any], alias: str | None) -> list[str]:
    """Sign each user in (as django.contrib.auth.login would) and return the session keys."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from bench import router

    store_class = import_module(engine).SessionStore
    router.use(alias)
    keys = []
    for user in users:
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    router.use(None)
    return keys


def _session_variant(engine: str, keys: list[str], alias: str | None) -> tuple[Callable, list[Any]]:
    from django.conf import settings
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.http import HttpResponse
    from django.test import RequestFactory

    from bench import router

    def view(request: Any) -> HttpResponse:
        assert request.user.is_authenticated
        return HttpResponse()

    auth = AuthenticationMiddleware(view)
    chain = SessionMiddleware(auth)
    chain.SessionStore = import_module(engine).SessionStore
    factory = RequestFactory()
    requests = [factory.get("/api/me/", HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={k}") for k in keys]

    def call(request: Any) -> None:
        request.__dict__.pop("_cached_user", None)  # a fresh request each time, as over HTTP
        router.use(alias)
        chain(request)
        router.use(None)

    return call, requests


def _mix(items: list[Any], total: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    return [items[rng.randrange(len(items))] for _ in range(total)]


def build(total: int, clients: int) -> dict[str, tuple[Callable[[Any], Any], list[Any]]]:
    """Create the users and credentials; return each variant's (function, arguments)."""
    import jwt
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_redis import get_redis_connection
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.authtoken.models import Token
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework_simplejwt.authentication import JWTAuthentication, JWTStatelessUserAuthentication

    from accounts.authentication import RevocationCheckingJWTAuthentication
    from accounts.services import families

    users = _users(clients)
    variants: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {}
    if "sqlite" in _databases():
        keys = _session_keys("accounts.backends.db", users, "sqlite")
        variants["session-sqlite"] = _session_variant("accounts.backends.db", _mix(keys, total, 1), "sqlite")
    keys = _session_keys("accounts.backends.db", users, None)
    variants["session-db"] = _session_variant("accounts.backends.db", _mix(keys, total, 2), None)
    keys = _session_keys("accounts.backends.cached_db", users, None)
    variants["session-cached"] = _session_variant("accounts.backends.cached_db", _mix(keys, total, 3), None)

    factory = APIRequestFactory()
    access = [families.family_start(user=u, ip="127.0.0.1", user_agent="bench").access for u in users]
    jwt_requests = [Request(factory.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {t}")) for t in access]
    jwt_mix = _mix(jwt_requests, total, 4)
    variants["jwt-user"] = (JWTAuthentication().authenticate, jwt_mix)
    variants["jwt-stateless"] = (JWTStatelessUserAuthentication().authenticate, jwt_mix)
    variants["jwt-revocation"] = (RevocationCheckingJWTAuthentication().authenticate, jwt_mix)

    drf_keys = [Token.objects.create(user=u).key for u in users]
    drf_requests = [Request(factory.get("/api/me/", HTTP_AUTHORIZATION=f"Token {k}")) for k in drf_keys]
    variants["drf-token"] = (TokenAuthentication().authenticate, _mix(drf_requests, total, 5))

    jwt_conf = settings.SIMPLE_JWT
    key = jwt_conf["SIGNING_KEY"]

    def pyjwt(token: str) -> None:
        jwt.decode(
            token,
            key,
            algorithms=[jwt_conf["ALGORITHM"]],
            audience=jwt_conf["AUDIENCE"],
            issuer=jwt_conf["ISSUER"],
        )

    variants["floor-pyjwt"] = (pyjwt, _mix(access, total, 6))
    hmac_key, message = key.encode(), access[0].rsplit(".", 1)[0].encode()
    variants["floor-hmac"] = (lambda m: hmac.new(hmac_key, m, hashlib.sha256).digest(), [message])
    redis = get_redis_connection("default")
    redis_keys = [f"{common.cache_prefix()}:floor:{i}" for i in range(clients)]
    for k in redis_keys:
        redis.set(k, b"x" * 100)
    variants["floor-redis"] = (redis.get, _mix(redis_keys, total, 7))
    table = get_user_model()._meta.db_table
    cursor = connection.cursor()
    sql = f'SELECT * FROM "{table}" WHERE "id" = %s'  # noqa: S608 - table name from the model

    def pg_select(pk: int) -> None:
        cursor.execute(sql, [pk])
        assert cursor.fetchone() is not None

    variants["floor-pg"] = (pg_select, _mix([u.pk for u in users], total, 8))
    for name, (fn, args) in variants.items():  # every variant works before anything is timed
        out = fn(args[0])
        if name.startswith(("jwt", "drf")):
            assert out is not None, name
    return variants


def run(*, requests: int, clients: int = CLIENTS) -> dict[str, Any]:
    block, warmup = 100, 5
    total = (-(-requests // block) + warmup) * block
    variants = build(total, clients)
    samples = common.interleaved(variants, requests=requests, block=block, warmup_blocks=warmup)
    rows = {name: common.summary(ns) for name, ns in samples.items()}
    base = rows["jwt-stateless"]["median_us"]
    for row in rows.values():
        row["ratio"] = row["median_us"] / base
    return {"requests_per_variant": requests, "block": block, "clients": clients, "rows": rows}


def report(result: dict[str, Any]) -> str:
    lines = [f"median us per request over {result['requests_per_variant']:,} requests, interleaved:"]
    for name, row in result["rows"].items():
        lines.append(f"  {LABELS[name]:52s} {row['median_us']:9.2f} us  x{row['ratio']:.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        if os.environ.get("BENCH_DATABASE_URL"):
            common.django_setup(
                os.environ["BENCH_DATABASE_URL"], sqlite_path=os.environ.get("BENCH_SQLITE_PATH", "")
            )
            result = run(requests=args.requests, clients=args.clients)
        else:
            with tempfile.TemporaryDirectory() as tmp, common.scratch_database("_inproc") as url:
                common.django_setup(url, sqlite_path=str(Path(tmp) / "bench.sqlite3"))
                common.migrate("default", "sqlite")
                result = run(requests=args.requests, clients=args.clients)
                from django.db import connections

                connections.close_all()
    finally:
        common.drop_cache_keys()
    return common.emit(report(result), result, args.json)


if __name__ == "__main__":
    sys.exit(main())
