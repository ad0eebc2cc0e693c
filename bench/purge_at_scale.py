"""Seed 1,000,000 expired credential rows in a throw-away PostgreSQL database, time purge_credentials.

Usage: .venv/bin/python bench/purge_at_scale.py [--batch-size N] [--keep]
The database (authproject_bench_purge on PURGE_BENCH_PG, default
postgres://postgres@127.0.0.1:5432) is created, migrated, seeded with INSERT ... SELECT
generate_series, purged by `manage.py purge_credentials`, checked and dropped.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("PURGE_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "authproject_bench_purge"
USERS = 20_000

# (what, rows) -- the expired rows the purge must delete: 1,000,000 in all.
EXPIRED = {
    "sessions": 300_000,
    "families": 100_000,
    "family refresh tokens": 200_000,
    "family token links": 200_000,
    "blacklisted tokens": 100_000,
    "orphan refresh tokens": 80_000,
    "access cutoffs": 20_000,
}
LIVE_SESSIONS = 1_000


def seed_sql() -> str:
    return f"""
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                       is_active, date_joined)
SELECT '!', false, 'bench' || i, '', '', '', false, true, now() FROM generate_series(1, {USERS}) i;

CREATE TEMP TABLE u AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM auth_user;
CREATE INDEX ON u (n);

INSERT INTO accounts_session (session_key, session_data, expire_date, public_id, user_id, ip, user_agent,
                              created_at, last_activity)
SELECT md5('s' || i), '', now() - interval '1 day' + (CASE WHEN i <= {LIVE_SESSIONS}
       THEN interval '30 days' ELSE interval '0' END),
       md5('p' || i)::uuid, u.id, '127.0.0.1', 'bench', now() - interval '15 days', now() - interval '2 days'
FROM generate_series(1, {EXPIRED["sessions"] + LIVE_SESSIONS}) i JOIN u ON u.n = i % {USERS};

INSERT INTO accounts_signinfamily (id, user_id, ip, user_agent, created_at, last_used_at, refresh_expires_at,
                                   expires_at, revoked_at, revoke_reason)
SELECT md5('f' || i)::uuid, u.id, '127.0.0.1', 'bench', now() - interval '3 days', now() - interval '2 days',
       now() - interval '1 day', now() + interval '27 days',
       CASE WHEN i % 2 = 0 THEN now() - interval '2 days' END, ''
FROM generate_series(1, {EXPIRED["families"]}) i JOIN u ON u.n = i % {USERS};

INSERT INTO token_blacklist_outstandingtoken (id, user_id, jti, token, created_at, expires_at)
SELECT i, u.id, md5('j' || i), 'sha256:' || md5('t' || i), now() - interval '3 days', now() - interval '1 day'
FROM generate_series(1, {EXPIRED["family refresh tokens"] + EXPIRED["orphan refresh tokens"]}) i
JOIN u ON u.n = i % {USERS};

INSERT INTO accounts_familytoken (token_id, family_id)
SELECT i, md5('f' || ((i - 1) % {EXPIRED["families"]} + 1))::uuid
FROM generate_series(1, {EXPIRED["family token links"]}) i;

INSERT INTO token_blacklist_blacklistedtoken (token_id, blacklisted_at)
SELECT i, now() - interval '2 days' FROM generate_series(1, {EXPIRED["blacklisted tokens"]}) i;

INSERT INTO accounts_accesscutoff (user_id, not_before)
SELECT id, now() - interval '10 days' FROM u WHERE n < {EXPIRED["access cutoffs"]};
"""  # noqa: S608 - built from constants only


COUNT_SQL = {
    "accounts_session": "SELECT count(*) FROM accounts_session",
    "accounts_signinfamily": "SELECT count(*) FROM accounts_signinfamily",
    "token_blacklist_outstandingtoken": "SELECT count(*) FROM token_blacklist_outstandingtoken",
    "token_blacklist_blacklistedtoken": "SELECT count(*) FROM token_blacklist_blacklistedtoken",
    "accounts_familytoken": "SELECT count(*) FROM accounts_familytoken",
    "accounts_accesscutoff": "SELECT count(*) FROM accounts_accesscutoff",
}


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {table: conn.execute(sql).fetchone()[0] for table, sql in COUNT_SQL.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--seed-only", action="store_true", help="seed and keep the database, no purge")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 1M rows (quick runs)")
    args = parser.parse_args()
    if args.scale != 1.0:
        for key in EXPIRED:
            EXPIRED[key] = int(EXPIRED[key] * args.scale)
    url = f"{SERVER}/{DB}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="project.settings")
    manage = [sys.executable, str(ROOT / "manage.py")]
    try:
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            conn.execute(seed_sql())
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        seeded = time.perf_counter() - started
        before = counts(url)
        expired_total = sum(EXPIRED.values())
        print(f"seeded {expired_total:,} expired rows (+{LIVE_SESSIONS:,} live sessions) in {seeded:.1f} s")
        print("rows before:", before)
        if args.seed_only:
            args.keep = True
            return 0
        started = time.perf_counter()
        run = subprocess.run(
            [*manage, "purge_credentials", "--batch-size", str(args.batch_size)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        lines = run.stdout.splitlines()
        print(f"purge_credentials printed {len(lines)} progress lines:")
        print("\n".join(lines[:: max(1, len(lines) // 15)] + lines[-1:]))
        after = counts(url)
        print("rows after: ", after)
        purged = sum(before.values()) - sum(after.values())
        assert after["accounts_session"] == LIVE_SESSIONS, "live sessions must survive"
        assert sum(after.values()) == LIVE_SESSIONS, "every expired row must go"
        print(f"purged {purged:,} rows in {elapsed:.1f} s (batch size {args.batch_size}); target < 120 s")
        return 0 if elapsed < 120 else 1
    finally:
        if not args.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
