"""manage.py purge_credentials: delete expired credentials and personal data past its retention."""

import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services.cleanup import credentials_purge


class Command(BaseCommand):
    help = (
        "Purge, in batches, expired credentials and revocation state that can no longer matter, "
        "and audit events and known devices past their retention (docs/privacy.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per batch (default 5000)")
        parser.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        verb = "would purge" if dry_run else "purged"
        started = time.monotonic()
        try:
            result = credentials_purge(
                batch_size=batch_size,
                dry_run=dry_run,
                progress=lambda kind, n: self.stdout.write(
                    f"{kind}: {verb} {n} ({time.monotonic() - started:.1f} s)"
                ),
            )
        except ImproperlyConfigured as e:
            raise CommandError(str(e)) from e
        for kind in result.kept_forever:
            self.stdout.write(f"{kind}: kept forever (retention 0)")
        self.stdout.write(
            self.style.SUCCESS(f"Done: {verb} {result.total} rows in {time.monotonic() - started:.1f} s.")
        )
