"""When the database is unreachable, answer 503 with a clear reason instead of a 500 page."""

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
_FLAG = "_database_unavailable"
DETAIL = "The database is unavailable. Try again shortly."


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into 503: JSON for /api/ and /healthz, a short page elsewhere.

    Django turns an exception raised inside another middleware into a 500 response before
    it reaches this one, so a `got_request_exception` receiver marks the request when that
    exception was a database connection error. Place it before SessionMiddleware (and after
    CorsMiddleware, so API clients can read the answer). Connections are retried on the next
    request, so service resumes by itself once the database answers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _FLAG, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            setattr(request, _FLAG, True)
            return unavailable_response(request)
        return None


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(("/api/", "/healthz")):
        response: HttpResponse = JsonResponse({"detail": DETAIL, "code": "database_unavailable"}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Service unavailable</title>"
            "<h1>Service temporarily unavailable</h1><p>Please try again in a moment.</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _mark_database_error(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Note on the request that the exception being turned into a 500 was a database error."""
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        setattr(request, _FLAG, True)


got_request_exception.connect(_mark_database_error, dispatch_uid="project.middleware.database_errors")
