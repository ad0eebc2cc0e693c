"""Race N refreshes of one refresh token on a SQLite *file* (the embedded `make run` set-up).

Run as `python -m tests.api.sqlite_race N` with DJANGO_SQLITE_PATH set; prints JSON
{"statuses": [...], "blacklisted": n, "revoke_reason": "..."}. The in-memory test
database cannot serve this: SQLite's shared-cache mode answers "database table is
locked" at once instead of waiting, so concurrent writers there fail for reasons
that have nothing to do with the code under test.
"""

import json
import os
import sys
import threading

import django


def main(threads: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    from accounts.models import SignInFamily
    from tests.factories import make_user

    call_command("migrate", verbosity=0)
    make_user("racer")
    client = Client(HTTP_USER_AGENT="sqlite-race")
    body = json.dumps({"username": "racer", "password": "correct-horse-battery-staple-42"})
    raw = client.post("/api/token/", body, content_type="application/json").json()["refresh"]
    connections.close_all()

    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def one() -> None:
        try:
            c = Client(HTTP_USER_AGENT="sqlite-race")
            barrier.wait(timeout=30)
            r = c.post("/api/token/refresh/", json.dumps({"refresh": raw}), content_type="application/json")
            statuses.append(r.status_code)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    family = SignInFamily.objects.get()
    print(
        json.dumps(
            {
                "statuses": sorted(statuses),
                "blacklisted": BlacklistedToken.objects.count(),
                "revoke_reason": family.revoke_reason,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
