"""Scale: one user's credentials among 1,000,000 sessions and 1,000,000 refresh tokens.

    .venv/bin/python bench/scale.py [--users 100000] [--json FILE]

Seeds (server-side INSERT ... SELECT generate_series, stock session payloads by COPY) a scratch
PostgreSQL database with 10 browser sessions and 2 sign-in families x 5 refresh tokens per user
(half of the sessions and families expired; 4 of 5 tokens blacklisted as rotated), and Django's
stock django_session table with 10 sessions per user. Then times: listing one user's
credentials, signing one user out everywhere, purging expired rows, and listing one user's
sessions on the stock table by decoding every row (it has no user column).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SESSIONS_PER_USER = 10
FAMILIES_PER_USER = 2
TOKENS_PER_FAMILY = 5

SEED_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                       is_active, date_joined)
SELECT '!', false, 'scale' || i, '', '', '', false, true, now() FROM generate_series(1, %(users)s) i;
CREATE TEMP TABLE u AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM auth_user
WHERE username LIKE 'scale%%';
CREATE UNIQUE INDEX ON u (n);
INSERT INTO accounts_session (session_key, session_data, expire_date, public_id, user_id, ip,
                              user_agent, created_at, last_activity)
SELECT md5('s' || i), '',
       CASE WHEN ((i - 1) / %(users)s) %% 2 = 1 THEN now() - interval '1 day'
            ELSE now() + interval '14 days' END,
       md5('p' || i)::uuid, u.id, '192.0.2.1', 'Mozilla/5.0 (bench)', now() - interval '3 days',
       now() - (i %% 1000) * interval '1 minute'
FROM generate_series(1, %(sessions)s) i JOIN u ON u.n = (i - 1) %% %(users)s;
INSERT INTO accounts_signinfamily (id, user_id, ip, user_agent, created_at, last_used_at,
                                   refresh_expires_at, expires_at, revoked_at, revoke_reason)
SELECT md5('f' || i)::uuid, u.id, '192.0.2.2', 'bench-client/1.0', now() - interval '3 days',
       now() - (i %% 1000) * interval '1 minute',
       CASE WHEN ((i - 1) / %(users)s) %% 2 = 1 THEN now() - interval '1 day'
            ELSE now() + interval '1 day' END,
       now() + interval '27 days', NULL, ''
FROM generate_series(1, %(families)s) i JOIN u ON u.n = (i - 1) %% %(users)s;
INSERT INTO token_blacklist_outstandingtoken (id, user_id, jti, token, created_at, expires_at)
SELECT %(base)s + i, f.user_id, md5('j' || i), 'sha256:' || md5('t' || i), f.created_at,
       f.refresh_expires_at
FROM generate_series(1, %(tokens)s) i
JOIN accounts_signinfamily f ON f.id = md5('f' || ((i - 1) / %(per_family)s + 1))::uuid;
SELECT setval(pg_get_serial_sequence('token_blacklist_outstandingtoken', 'id'), %(base)s + %(tokens)s);
INSERT INTO accounts_familytoken (token_id, family_id)
SELECT %(base)s + i, md5('f' || ((i - 1) / %(per_family)s + 1))::uuid
FROM generate_series(1, %(tokens)s) i;
INSERT INTO token_blacklist_blacklistedtoken (token_id, blacklisted_at)
SELECT %(base)s + i, now() - interval '1 day' FROM generate_series(1, %(tokens)s) i
WHERE i %% %(per_family)s <> 0;
"""

STOCK_SQL = """
INSERT INTO django_session (session_key, session_data, expire_date)
SELECT md5('d' || i), p.data, now() + interval '14 days'
FROM generate_series(1, %(sessions)s) i JOIN stock_payload p ON p.n = (i - 1) %% %(users)s;
"""

TABLES = [
    "auth_user",
    "accounts_session",
    "accounts_signinfamily",
    "token_blacklist_outstandingtoken",
    "accounts_familytoken",
    "token_blacklist_blacklistedtoken",
    "django_session",
]


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as c:
        out = {}
        for table in TABLES:
            c.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - fixed table names
            out[table] = c.fetchone()[0]
        return out


def seed(users: int) -> float:
    """Fill the tables; return the seconds it took."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore as StockStore
    from django.db import connection, transaction

    t0 = time.perf_counter()
    params = {
        "users": users,
        "sessions": users * SESSIONS_PER_USER,
        "families": users * FAMILIES_PER_USER,
        "tokens": users * FAMILIES_PER_USER * TOKENS_PER_FAMILY,
        "per_family": TOKENS_PER_FAMILY,
    }
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT COALESCE(max(id), 0) FROM token_blacklist_outstandingtoken")
        params["base"] = c.fetchone()[0]
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                c.execute(statement, params)
        # Stock sessions: one genuinely encoded payload per user (Django's signed format).
        c.execute("CREATE TEMP TABLE stock_payload (n int PRIMARY KEY, data text)")
        stock = StockStore()
        ids = list(_scale_users().values_list("pk", flat=True))
        with c.cursor.copy("COPY stock_payload (n, data) FROM STDIN") as copy:
            for n, pk in enumerate(ids):
                payload = {SESSION_KEY: str(pk), BACKEND_SESSION_KEY: "x", HASH_SESSION_KEY: f"{pk:064x}"}
                copy.write_row((n, stock.encode(payload)))
        c.execute(STOCK_SQL, params)
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def _scale_users() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username__startswith="scale").order_by("pk")


def _timed(fn: Any, items: list[Any]) -> dict[str, float]:
    ms = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        ms.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(ms), "max_ms": max(ms), "n": len(ms)}


def stock_listing(user_id: int) -> dict[str, Any]:
    """List one user's live sessions on the stock table: fetch and decode every row."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore as StockStore
    from django.contrib.sessions.models import Session as StockSession
    from django.utils import timezone

    store = StockStore()
    wanted = str(user_id)
    t0 = time.perf_counter()
    found = rows = 0
    live = StockSession.objects.filter(expire_date__gt=timezone.now()).values_list("session_data", flat=True)
    for data in live.iterator(chunk_size=10_000):
        rows += 1
        if store.decode(data).get(SESSION_KEY) == wanted:
            found += 1
    return {"ms": (time.perf_counter() - t0) * 1000, "rows_decoded": rows, "found": found}


def purge() -> dict[str, Any]:
    from django.core.management import call_command, get_commands

    t0 = time.perf_counter()
    if "purge_credentials" in get_commands():
        how = "manage.py purge_credentials (batch size 5000)"
        call_command("purge_credentials", batch_size=5000, stdout=_Null())
    else:
        how = "manage.py clearsessions + flushexpiredtokens (purge_credentials not available)"
        call_command("clearsessions")
        call_command("flushexpiredtokens")
    return {"how": how, "s": time.perf_counter() - t0}


class _Null:
    def write(self, *args: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def run(*, users: int, samples: int = 20) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from accounts import selectors
    from accounts.services import revocation

    seconds = seed(users)
    before = counts()
    pks = list(_scale_users().values_list("pk", flat=True))
    step = max(1, len(pks) // (3 * samples))
    picks = [get_user_model().objects.get(pk=pk) for pk in pks[::step][: 3 * samples]]
    listing = _timed(lambda u: list(selectors.credential_list(user=u)), picks[:samples])
    listed = len(selectors.credential_list(user=picks[0]))
    signout = _timed(
        lambda u: revocation.user_sign_out_everywhere(user=u, reason="bench"), picks[samples : 2 * samples]
    )
    stock = stock_listing(picks[-1].pk)
    purged = purge()
    after = counts()
    return {
        "users": users,
        "seed_s": seconds,
        "rows_before": before,
        "rows_after": after,
        "credentials_per_user": listed,
        "list_one_user": listing,
        "sign_out_everywhere": signout,
        "stock_list_by_decoding": stock,
        "purge": purged,
    }


def report(r: dict[str, Any]) -> str:
    b, stock = r["rows_before"], r["stock_list_by_decoding"]
    lines = [
        f"scale: {r['users']:,} users, {b['accounts_session']:,} sessions, "
        f"{b['token_blacklist_outstandingtoken']:,} outstanding tokens, {b['django_session']:,} stock "
        f"sessions (seeded in {r['seed_s']:.1f} s)",
        f"  list one user's credentials ({r['credentials_per_user']} live): median "
        f"{r['list_one_user']['median_ms']:.2f} ms, max {r['list_one_user']['max_ms']:.2f} ms",
        f"  sign one user out everywhere: median {r['sign_out_everywhere']['median_ms']:.2f} ms, "
        f"max {r['sign_out_everywhere']['max_ms']:.2f} ms",
        f"  stock django_session, decode every row: {stock['ms']:.0f} ms "
        f"({stock['rows_decoded']:,} rows, {stock['found']} found)",
        f"  purge expired rows ({r['purge']['how']}): {r['purge']['s']:.1f} s",
        "  rows after purge: " + ", ".join(f"{k} {v:,}" for k, v in r["rows_after"].items()),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        if os.environ.get("BENCH_DATABASE_URL"):  # bench/run.py's database, migrated
            common.django_setup(os.environ["BENCH_DATABASE_URL"])
            result = run(users=args.users)
        else:
            with common.scratch_database("_scale") as url:
                common.django_setup(url)
                common.migrate()
                result = run(users=args.users)
                from django.db import connections

                connections.close_all()
    finally:
        common.drop_cache_keys()
    return common.emit(report(result), result, args.json)


if __name__ == "__main__":
    sys.exit(main())
