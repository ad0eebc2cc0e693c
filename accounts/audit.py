"""The request being served, so revocations triggered deep inside a save know their actor and IP."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest

from accounts.request_meta import client_ip

_current_request: ContextVar[HttpRequest | None] = ContextVar("accounts_current_request", default=None)


@contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def current_request() -> HttpRequest | None:
    return _current_request.get()


def current_actor_and_ip() -> tuple[Any, str | None]:
    """Return the signed-in user and client IP of the request being served, if any."""
    request = current_request()
    if request is None:
        return None, None
    user = getattr(request, "user", None)
    return (user if getattr(user, "is_authenticated", False) else None), client_ip(request)
