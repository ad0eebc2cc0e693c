"""Who is asking: the client IP (never chosen by the client) and user agent of a request."""

import ipaddress

from django.http import HttpRequest

from accounts.conf import accounts_settings


def client_ip(request: HttpRequest) -> str | None:
    """Return the client IP: REMOTE_ADDR, or the address the trusted proxies saw.

    Each trusted proxy appends the address it received the request from to
    X-Forwarded-For, so the client is the Nth entry from the right; anything
    further left was written by the client and is ignored.
    """
    proxies = accounts_settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return _valid_ip(forwarded[-proxies])
    return _valid_ip(request.META.get("REMOTE_ADDR"))


def user_agent(request: HttpRequest) -> str:
    ua = request.META.get("HTTP_USER_AGENT", "")
    return ua.replace("\x00", "")[: accounts_settings.USER_AGENT_MAX_LENGTH]


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
