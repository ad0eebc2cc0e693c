"""manage.py revoke_credentials_before: the emergency switch, for every user at once."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.services import revocation


class Command(BaseCommand):
    help = (
        "Emergency switch: revoke every browser session and API sign-in (with its access and refresh "
        "tokens) issued before a time, for all users. See docs/emergency.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            help="ISO 8601 time, e.g. 2026-11-27T14:05:00Z (default: now); no offset means TIME_ZONE",
        )
        parser.add_argument("--reason", default="", help="recorded in the audit trail (200 characters)")
        parser.add_argument(
            "--noinput", "--no-input", "--yes", action="store_false", dest="interactive", help="do not ask"
        )

    def handle(self, *args: Any, before: str | None, reason: str, interactive: bool, **options: Any) -> None:
        when = _parse(before) if before is not None else timezone.now()
        if when > timezone.now():
            raise CommandError(f"--before {when.isoformat()} is in the future; give a time already past.")
        sessions, families = revocation.credentials_issued_before_count(before=when)
        self.stdout.write(
            f"Every credential issued before {when.isoformat()} will be refused on every server: "
            f"{sessions} browser sessions and {families} API sign-ins are active now."
        )
        if interactive and input("Type 'yes' to revoke them: ").strip().lower() != "yes":
            raise CommandError("Cancelled: nothing was revoked.")
        try:
            event = revocation.credentials_revoke_issued_before(before=when, reason=reason)
        except ValueError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(
            self.style.SUCCESS(
                f"Revoked {event.count} credentials issued before {when.isoformat()} "
                f"(audit event {event.pk})."
            )
        )


def _parse(value: str) -> datetime:
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--before {value!r} is not an ISO 8601 time, e.g. 2026-11-27T14:05:00Z.")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
