"""Human-readable device names from user-agent strings."""

from functools import lru_cache

from user_agents import parse


@lru_cache(maxsize=2048)
def describe(user_agent: str) -> str:
    """Return e.g. "Firefox 121 on Ubuntu", or "Unknown device" for an empty string."""
    if not user_agent:
        return "Unknown device"
    ua = parse(user_agent)
    browser = " ".join(p for p in (ua.browser.family, ua.browser.version_string.split(".")[0]) if p)
    os = " ".join(p for p in (ua.os.family, ua.os.version_string) if p)
    if browser == "Other" and os == "Other":
        return user_agent[:60]
    return f"{browser} on {os}"
