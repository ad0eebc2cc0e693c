"""What a sign-in costs in database queries, with and without the cap and new-device alerts.

Counts the SQL statements of one site sign-in (POST /accounts/login/) and one API sign-in
(POST /api/token/) on a throw-away PostgreSQL database, leaving out transaction control
(BEGIN, COMMIT, SAVEPOINT, RELEASE), for: the first sign-in of a user, a sign-in from a known
device and network, one from a new network (which also queues an email), and the same with
MAX_CREDENTIALS_PER_USER 0 and NEW_DEVICE_ALERTS off.

    .venv/bin/python bench/signin_queries.py [--json FILE]
"""

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

PASSWORD = "correct-horse-battery-staple-42"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _count(path: str, body: dict[str, str], ip: str, *, json: bool) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=FIREFOX)
    with CaptureQueriesContext(connection) as queries:
        if json:
            response = client.post(path, body, content_type="application/json")
        else:
            response = client.post(path, body)
    assert response.status_code in (200, 302), (path, response.status_code)
    return sum(1 for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith(CONTROL))


def measure() -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from accounts.services import notifications

    user_model = get_user_model()
    credentials = {"password": PASSWORD}
    results: dict[str, Any] = {}
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for kind, path, json in (("site", "/accounts/login/", False), ("api", "/api/token/", True)):
            name = f"{kind}-user"
            user_model.objects.create_user(name, f"{name}@example.com", PASSWORD)
            body = {"username": name, **credentials}
            results[kind] = {
                "first sign-in": _count(path, body, "198.51.100.7", json=json),
                "known device and network": _count(path, body, "198.51.100.8", json=json),
                "new network (email queued)": _count(path, body, "203.0.113.9", json=json),
            }
            off = {**settings.ACCOUNTS, "MAX_CREDENTIALS_PER_USER": 0, "NEW_DEVICE_ALERTS": False}
            with override_settings(ACCOUNTS=off):
                results[kind]["cap and alerts off"] = _count(path, body, "192.0.2.1", json=json)
        notifications.wait_for_emails(timeout=30)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the counts to this JSON file")
    args = parser.parse_args()
    try:
        with common.scratch_database("_signin") as url:
            common.django_setup(url)
            common.migrate()
            results = measure()
            from django.db import connections

            connections.close_all()
    finally:
        common.drop_cache_keys()
    lines = ["SQL statements per sign-in (transaction control left out):"]
    for kind, counts in results.items():
        lines.append(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return common.emit("\n".join(lines), results, args.json)


if __name__ == "__main__":
    sys.exit(main())
