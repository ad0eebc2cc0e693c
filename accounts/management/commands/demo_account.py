"""Create (or reset) the demo account and print its credentials; development only."""

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or reset the 'demo' account with a fresh password and print it (DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            # `make run` goes on serving; a production database never gets a known account.
            self.stderr.write("DJANGO_DEBUG is off: no demo account created.")
            return
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com"}
        )
        user.set_password(password)  # a reset signs the old demo sessions out (accounts.receivers)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account ready at http://127.0.0.1:8000/accounts/login/ — "
                f"username: demo  password: {password}"
            )
        )
