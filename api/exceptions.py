"""Every API error as DRF-style JSON: {"detail": ..., "code": ...} with a 4xx status."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "request_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # over DATA_UPLOAD_MAX_MEMORY_SIZE: JSON, not an HTML 400
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": exc.detail}
        return response
    data = response.data if isinstance(response.data, dict) else {}
    detail = data.get("detail", getattr(exc, "detail", str(exc)))
    code = data.get("code")
    if code is None:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else _default_code(response.status_code)
    body: dict[str, Any] = {"detail": str(detail), "code": code}
    if "messages" in data:  # SimpleJWT's per-token-class reasons
        body["messages"] = data["messages"]
    response.data = body
    return response


def _default_code(status_code: int) -> str:
    return {
        status.HTTP_404_NOT_FOUND: "not_found",
        status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    }.get(status_code, "error")
