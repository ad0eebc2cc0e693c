"""Time every operator admin page against a seeded PostgreSQL database (median of a few runs).

    .venv/bin/python bench/admin_pages.py [--users 100000 --sessions 1000000 --tokens 1000000]
        [--database-url postgres://postgres@127.0.0.1:5432/authproject_bench_admin] [--reuse] [--runs 5]

Creates the database if missing, migrates it and seeds it with `manage.py seed_credentials`
(unless --reuse finds it already seeded), signs a superuser in through Django's test Client,
and prints each page's median time and query count. Pages over the budget are marked SLOW
and make the exit status 1. Redis is not used (pages read PostgreSQL only).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET_MS = 500.0
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/authproject_bench_admin"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per page (the median is shown)")
    parser.add_argument("--reuse", action="store_true", help="skip seeding when the database has sessions")
    args = parser.parse_args()

    _create_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import Session

    call_command("migrate", verbosity=0)
    if not (args.reuse and Session.objects.exists()):
        started = time.perf_counter()
        call_command("seed_credentials", users=args.users, sessions=args.sessions, tokens=args.tokens)
        print(f"seed_credentials took {time.perf_counter() - started:.1f} s")
    return _measure(args.runs)


def _create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _pages() -> list[tuple[str, str, dict[str, Any] | None]]:
    """Return (name, url, POST data or None) for every page an operator would open."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from accounts.models import RevocationEvent, Session, SignInFamily

    with connection.cursor() as cursor:  # the user with the most sessions (outside the timings)
        cursor.execute(
            "SELECT user_id FROM accounts_session WHERE user_id IS NOT NULL"
            " GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"
        )
        heavy = get_user_model().objects.get(pk=cursor.fetchone()[0])
    session = Session.objects.filter(user=heavy).order_by("-created_at").first()
    family = SignInFamily.objects.filter(user=heavy).order_by("-created_at").first()
    token = OutstandingToken.objects.order_by("-id").first()
    blacklisted = BlacklistedToken.objects.order_by("-id").first()
    event = RevocationEvent.objects.order_by("-created_at").first()
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)

    def week(field: str) -> str:
        since, until = today - timedelta(days=7), today + timedelta(days=1)
        return urlencode({f"{field}__gte": str(since), f"{field}__lt": str(until)})

    name, email = heavy.get_username(), heavy.email
    s, f, o, b = (
        "/admin/accounts/session/",
        "/admin/accounts/signinfamily/",
        "/admin/token_blacklist/outstandingtoken/",
        "/admin/token_blacklist/blacklistedtoken/",
    )
    e, u = "/admin/accounts/revocationevent/", "/admin/auth/user/"
    some_sessions = [
        str(p) for p in Session.objects.order_by("-created_at").values_list("public_id", flat=True)[:50]
    ]
    some_families = [
        str(p) for p in SignInFamily.objects.order_by("-created_at").values_list("pk", flat=True)[:50]
    ]
    some_tokens = [str(p) for p in OutstandingToken.objects.order_by("-id").values_list("pk", flat=True)[:50]]
    return [
        ("admin index", "/admin/", None),
        ("sessions", s, None),
        ("sessions ?status=active", f"{s}?status=active", None),
        ("sessions ?status=expired", f"{s}?status=expired", None),
        ("sessions created past 7 days", f"{s}?{week('created_at')}", None),
        ("sessions search exact username", f"{s}?q={name}", None),
        ("sessions search username prefix", f"{s}?q={name[:8]}", None),
        ("sessions search email", f"{s}?{urlencode({'q': email})}", None),
        ("sessions search IP", f"{s}?q={session.ip}", None),
        ("sessions of one user", f"{s}?user__id__exact={heavy.pk}", None),
        ("sessions last page (p=100)", f"{s}?p=100", None),
        ("session detail", f"{s}{session.public_id}/change/", None),
        (
            "revoke 50 sessions: confirmation",
            s,
            {"action": "revoke_sessions", "_selected_action": some_sessions},
        ),
        ("sign-ins", f, None),
        ("sign-ins ?status=active", f"{f}?status=active", None),
        ("sign-ins ?status=expired", f"{f}?status=expired", None),
        ("sign-ins ?status=revoked", f"{f}?status=revoked", None),
        ("sign-ins created past 7 days", f"{f}?{week('created_at')}", None),
        ("sign-ins search username", f"{f}?q={name}", None),
        ("sign-ins search IP", f"{f}?q={family.ip}", None),
        ("sign-in detail", f"{f}{family.pk}/change/", None),
        (
            "revoke 50 sign-ins: confirmation",
            f,
            {"action": "revoke_families", "_selected_action": some_families},
        ),
        ("outstanding tokens", o, None),
        ("outstanding ?status=active", f"{o}?status=active", None),
        ("outstanding ?status=expired", f"{o}?status=expired", None),
        ("outstanding ?status=blacklisted", f"{o}?status=blacklisted", None),
        ("outstanding created past 7 days", f"{o}?{week('created_at')}", None),
        ("outstanding search username", f"{o}?q={name}", None),
        ("outstanding search jti", f"{o}?q={token.jti}", None),
        ("outstanding token detail", f"{o}{token.pk}/change/", None),
        (
            "blacklist 50 tokens: confirmation",
            o,
            {"action": "blacklist_tokens", "_selected_action": some_tokens},
        ),
        ("blacklisted tokens", b, None),
        ("blacklisted past 7 days", f"{b}?{week('blacklisted_at')}", None),
        ("blacklisted search username", f"{b}?q={name}", None),
        ("blacklisted token detail", f"{b}{blacklisted.pk}/change/", None),
        ("revocation events", e, None),
        ("events ?action=family", f"{e}?action__exact=family", None),
        ("events past 7 days", f"{e}?{week('created_at')}", None),
        ("events search username", f"{e}?q={name}", None),
        ("event detail", f"{e}{event.pk}/change/", None),
        ("users", u, None),
        ("users search username", f"{u}?q={name}", None),
        ("users search email", f"{u}?{urlencode({'q': email})}", None),
        ("user change page (most sessions)", f"{u}{heavy.pk}/change/", None),
        ("sign out everywhere: confirmation", f"{u}{heavy.pk}/sign-out-everywhere/", None),
    ]


def _measure(runs: int) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin",
        defaults={"is_staff": True, "is_superuser": True, "email": "bench@example.com"},
    )
    client = Client()
    client.force_login(admin)
    slow = 0
    print(f"{'page':<42} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for name, url, data in _pages():
        times, queries = [], 0
        for i in range(runs + 1):  # the first run warms caches and is not counted
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                response = client.post(url, data) if data else client.get(url)
                elapsed = (time.perf_counter() - t) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code} for {url}")
            if i:
                times.append(elapsed)
                queries = len(ctx.captured_queries)
        median = statistics.median(times)
        mark = "  SLOW" if median > BUDGET_MS else ""
        slow += bool(mark)
        print(f"{name:<42} {median:>10.1f} {max(times):>8.1f} {queries:>8}{mark}")
    print(f"{slow} page(s) over {BUDGET_MS:.0f} ms" if slow else f"every page under {BUDGET_MS:.0f} ms")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
