"""Rate limits of the token endpoints, counted in the shared cache (Redis across app servers)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from accounts.request_meta import client_ip


class TokenRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, keyed by the trusted client IP and reading its rates per request.

    DRF's own ident trusts any X-Forwarded-For (a client could pick a fresh IP per
    try), and its THROTTLE_RATES is frozen at import, so setting changes never apply.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> Any:
        return client_ip(request) or "unknown"
