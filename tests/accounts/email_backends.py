"""Real Django email backends for the failure cases, set with override_settings(EMAIL_BACKEND=...)."""

import threading
from collections.abc import Sequence
from typing import Any

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise ConnectionRefusedError("the mail server refused the connection")


class BlockingBackend(BaseEmailBackend):
    """A mail server that hangs until the test releases it, then delivers to mail.outbox.

    It waits at most RELEASE_WAIT seconds, so a sender that blocks the sign-in makes the
    test fail (`timed_out` is set) instead of hanging it.
    """

    RELEASE_WAIT = 30.0
    started = threading.Event()
    released = threading.Event()
    timed_out = threading.Event()

    @classmethod
    def reset(cls) -> None:
        cls.started.clear()
        cls.released.clear()
        cls.timed_out.clear()

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        type(self).started.set()
        if not type(self).released.wait(self.RELEASE_WAIT):
            type(self).timed_out.set()
            return 0
        mail.outbox.extend(email_messages)
        return len(email_messages)
