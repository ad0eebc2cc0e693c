"""Human-readable device names from user-agent strings."""

from functools import lru_cache

from user_agents import parse


@lru_cache(maxsize=2048)
def describe(user_agent: str) -> str:
    """Return e.g. "Firefox 121 on Ubuntu", or "Unknown device" for an empty string.

    A value already in that form (stored by PARSED_USER_AGENT_ONLY) is returned as it is.
    """
    if not user_agent:
        return "Unknown device"
    if is_parsed(user_agent):
        return user_agent
    return device(user_agent) or user_agent[:60]


@lru_cache(maxsize=2048)
def device(user_agent: str) -> str:
    """Return "Browser N on OS" parsed from a user-agent string, or "" when neither is recognised."""
    ua = parse(user_agent)
    browser = " ".join(p for p in (ua.browser.family, ua.browser.version_string.split(".")[0]) if p)
    os = " ".join(p for p in (ua.os.family, ua.os.version_string) if p)
    if browser == "Other" and os == "Other":
        return ""
    return f"{browser} on {os}"


def is_parsed(user_agent: str) -> bool:
    """Tell a "Browser N on OS" value from a raw user-agent string (raw ones carry product/version)."""
    return " on " in user_agent and "/" not in user_agent


@lru_cache(maxsize=2048)
def device_family(user_agent: str) -> str:
    """Return browser and OS families without versions ("Firefox on Linux").

    A browser or OS update keeps the same device; unrecognised agents are all "Other on Other".
    """
    ua = parse(user_agent or "")
    return f"{ua.browser.family} on {ua.os.family}"[:200]
