"""Seed PostgreSQL with realistic credential volume (users, sessions, sign-ins, refresh tokens) in bulk."""

import secrets
import time
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import FamilyToken, RevocationEvent, Session, SignInFamily

USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "okhttp/4.12.0",
]
# Starts with "!": Django's mark for an unusable password (nobody can sign in as a seeded user).
UNUSABLE_PASSWORD = "!seeded-user-no-password"  # noqa: S105 - not a secret


class Command(BaseCommand):
    help = (
        "Bulk-insert seeded users, browser sessions, API sign-ins and refresh tokens into PostgreSQL "
        "(a share expired, blacklisted or revoked), for admin and scale benchmarks."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--sessions", type=int, default=10_000)
        parser.add_argument("--tokens", type=int, default=10_000, help="outstanding refresh tokens")
        parser.add_argument("--tokens-per-sign-in", type=int, default=2, help="refresh rotations per sign-in")
        parser.add_argument("--revoked-share", type=float, default=0.1, help="share of sign-ins revoked")
        parser.add_argument("--prefix", default="seed", help="seeded usernames start with this")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_credentials needs PostgreSQL (set DATABASE_URL).")
        if get_user_model()._meta.db_table != "auth_user":
            raise CommandError("seed_credentials supports django.contrib.auth's User model only.")
        users, per = options["users"], max(1, options["tokens_per_sign_in"])
        if users < 1:
            raise CommandError("--users must be at least 1.")
        params = {
            "users": users,
            "sessions": max(0, options["sessions"]),
            "tokens": max(0, options["tokens"]),
            "families": -(-max(0, options["tokens"]) // per),
            "per": per,
            "revoked": options["revoked_share"],
            "prefix": options["prefix"],
            "salt": secrets.token_hex(8),
            "pw": UNUSABLE_PASSWORD,
            "data": import_module(settings.SESSION_ENGINE).SessionStore().encode({}),
            "uas": USER_AGENTS,
            "session_age": f"{settings.SESSION_COOKIE_AGE} seconds",
        }
        started = time.monotonic()
        big = [_tables()[name] for name in ("session", "family", "outstanding", "blacklisted", "link")]
        with transaction.atomic(), connection.cursor() as cursor:
            # Run any deferred foreign-key checks now: PostgreSQL refuses ALTER TABLE on a table
            # with pending trigger events (e.g. rows written earlier in this transaction).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL synchronous_commit TO off")
            cursor.execute("SET LOCAL maintenance_work_mem TO '256MB'")
            self._skip_fk_checks(cursor)
            # Building an index once after the load is several times faster than updating it
            # row by row. All of this is one transaction: a failure restores every index.
            constraints = _droppable_constraints(cursor, big)
            for name, table, _definition in constraints:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
            indexes = _secondary_indexes(cursor, big)
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
            for label, sql in _steps():
                t = time.monotonic()
                cursor.execute(sql.format(**_tables()), params)
                self.stdout.write(f"{label}: {cursor.rowcount} rows in {time.monotonic() - t:.1f} s")
            t = time.monotonic()
            for name, table, definition in constraints:
                cursor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
                )
            for _name, definition in indexes:
                cursor.execute(definition)
            self.stdout.write(
                f"{len(constraints)} keys and {len(indexes)} indexes rebuilt in {time.monotonic() - t:.1f} s"
            )
        with connection.cursor() as cursor:
            for table in _tables().values():
                cursor.execute(f"ANALYZE {table}")
        self.stdout.write(self.style.SUCCESS(f"Seeded in {time.monotonic() - started:.1f} s."))

    def _skip_fk_checks(self, cursor: Any) -> None:
        """Skip per-row foreign-key triggers when allowed (superuser): the seeded ids are consistent."""
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role TO replica")
        except DatabaseError:
            self.stdout.write("Foreign keys checked row by row (not a superuser): slower.")


def _secondary_indexes(cursor: Any, tables: list[str]) -> list[tuple[str, str]]:
    """Return (name, CREATE INDEX statement) of each index on `tables` that backs no constraint."""
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           WHERE i.indrelid = ANY(%s::regclass[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [[t.strip('"') for t in tables]],
    )
    return list(cursor.fetchall())


def _droppable_constraints(cursor: Any, tables: list[str]) -> list[tuple[str, str, str]]:
    """Return (name, table, definition) of primary keys and unique constraints no foreign key uses."""
    cursor.execute(
        """SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
           FROM pg_constraint c
           WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('p', 'u')
             AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                             WHERE f.contype = 'f' AND f.conindid = c.conindid)""",
        [[t.strip('"') for t in tables]],
    )
    return list(cursor.fetchall())


def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "user": q(get_user_model()._meta.db_table),
        "session": q(Session._meta.db_table),
        "family": q(SignInFamily._meta.db_table),
        "outstanding": q(OutstandingToken._meta.db_table),
        "blacklisted": q(BlacklistedToken._meta.db_table),
        "link": q(FamilyToken._meta.db_table),
        "event": q(RevocationEvent._meta.db_table),
    }


def _steps() -> list[tuple[str, str]]:
    """The SQL, in order. Users are picked with a skew (random()^2), so a few have thousands."""
    return [
        (
            "users",
            """INSERT INTO {user} (password, is_superuser, username, first_name, last_name, email,
                   is_staff, is_active, date_joined)
               SELECT %(pw)s, false, %(prefix)s || %(salt)s || '-' || g, '', '',
                   %(prefix)s || %(salt)s || '-' || g || '@example.com', false, true,
                   now() - random() * interval '365 days'
               FROM generate_series(1, %(users)s) g""",
        ),
        (
            "user index",
            """CREATE TEMP TABLE seed_users ON COMMIT DROP AS
               SELECT row_number() OVER (ORDER BY id) AS n, id FROM {user}
               WHERE username LIKE %(prefix)s || %(salt)s || '-%%'""",
        ),
        ("user index key", "ALTER TABLE seed_users ADD PRIMARY KEY (n)"),
        (
            "sessions",
            """INSERT INTO {session} (session_key, session_data, expire_date, public_id, user_id, ip,
                   user_agent, created_at, last_activity)
               SELECT md5(%(salt)s || 's' || s.g), %(data)s, s.last + %(session_age)s::interval,
                   md5(%(salt)s || 'p' || s.g)::uuid, u.id,
                   ('10.' || (u.n >> 16) %% 256 || '.' || (u.n >> 8) %% 256 || '.' || u.n %% 256)::inet,
                   (%(uas)s::text[])[1 + s.g %% 6], s.created, s.last
               FROM (SELECT g, 1 + floor(power(random(), 2) * %(users)s)::int AS un, created,
                            created + random() * (now() - created) AS last
                     FROM (SELECT g, now() - random() * interval '60 days' AS created
                           FROM generate_series(1, %(sessions)s) g) c) s
               JOIN seed_users u ON u.n = s.un""",
        ),
        (
            "sign-in plan",
            """CREATE TEMP TABLE seed_family ON COMMIT DROP AS
               SELECT md5(%(salt)s || 'f' || f.k)::uuid AS id, u.id AS user_id, u.n, f.k,
                   f.created, f.last_used,
                   CASE WHEN random() < %(revoked)s
                        THEN f.last_used + random() * (now() - f.last_used) END AS revoked_at
               FROM (SELECT k, 1 + floor(power(random(), 2) * %(users)s)::int AS un, created,
                            created + random() * (now() - created) AS last_used
                     FROM (SELECT k, now() - random() * interval '30 days' AS created
                           FROM generate_series(1, %(families)s) k) c) f
               JOIN seed_users u ON u.n = f.un""",
        ),
        (
            "sign-ins",
            """INSERT INTO {family} (id, user_id, ip, user_agent, created_at, last_used_at,
                   refresh_expires_at, expires_at, revoked_at, revoke_reason)
               SELECT id, user_id,
                   ('10.' || (n >> 16) %% 256 || '.' || (n >> 8) %% 256 || '.' || n %% 256)::inet,
                   (%(uas)s::text[])[1 + k %% 6], created, last_used,
                   least(last_used + interval '1 day', created + interval '30 days'),
                   created + interval '30 days', revoked_at,
                   CASE WHEN revoked_at IS NULL THEN '' ELSE 'seeded' END
               FROM seed_family""",
        ),
        (
            "refresh-token plan",
            """CREATE TEMP TABLE seed_token ON COMMIT DROP AS
               SELECT (SELECT nextval(pg_get_serial_sequence('{outstanding}', 'id')))
                      + row_number() OVER (ORDER BY t.created_at, t.r) - 1 AS id, t.*
               FROM (SELECT f.id AS family_id, f.user_id, f.revoked_at, r,
                         f.created + (f.last_used - f.created) * ((r - 1)::float / greatest(%(per)s - 1, 1))
                             AS created_at,
                         f.created + interval '30 days' AS family_expires_at
                     FROM seed_family f CROSS JOIN generate_series(1, %(per)s) r
                     LIMIT %(tokens)s) t""",
        ),
        (
            "token id sequence",
            """SELECT setval(pg_get_serial_sequence('{outstanding}', 'id'), max(id)) FROM seed_token""",
        ),
        (
            # The stored fingerprint has the real shape ("sha256:" + 64 hex); two md5s are cheaper.
            "outstanding tokens",
            """INSERT INTO {outstanding} (id, user_id, jti, token, created_at, expires_at)
               SELECT id, user_id, md5(%(salt)s || 'j' || id),
                   'sha256:' || md5(%(salt)s || 't' || id) || md5(%(salt)s || 'u' || id),
                   created_at, least(created_at + interval '1 day', family_expires_at)
               FROM seed_token""",
        ),
        ("family links", "INSERT INTO {link} (token_id, family_id) SELECT id, family_id FROM seed_token"),
        (
            "blacklisted (rotated or revoked)",
            """INSERT INTO {blacklisted} (token_id, blacklisted_at)
               SELECT id, coalesce(revoked_at, created_at + interval '1 minute') FROM seed_token
               WHERE r < %(per)s OR revoked_at IS NOT NULL""",
        ),
        (
            "revocation events",
            """INSERT INTO {event} (created_at, user_id, action, target, count, reason)
               SELECT revoked_at, user_id, 'family', id::text, 1, 'seeded'
               FROM seed_family WHERE revoked_at IS NOT NULL""",
        ),
    ]
