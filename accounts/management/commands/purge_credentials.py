"""manage.py purge_credentials: delete expired sessions, refresh tokens, sign-ins and cutoffs."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services.cleanup import credentials_purge


class Command(BaseCommand):
    help = "Purge expired credentials and revocation state that can no longer matter, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per batch (default 5000)")
        parser.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        verb = "would purge" if dry_run else "purged"
        started = time.monotonic()
        result = credentials_purge(
            batch_size=batch_size,
            dry_run=dry_run,
            progress=lambda kind, n: self.stdout.write(
                f"{kind}: {verb} {n} ({time.monotonic() - started:.1f} s)"
            ),
        )
        self.stdout.write(
            self.style.SUCCESS(f"Done: {verb} {result.total} rows in {time.monotonic() - started:.1f} s.")
        )
