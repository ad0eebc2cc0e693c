"""What is kept of a client's address and user agent (docs/privacy.md)."""

import ipaddress

from accounts.conf import accounts_settings
from accounts.user_agents import device

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def network_of(ip: str | None) -> str:
    """Return the client's network in CIDR form ("203.0.113.0/24", "2001:db8:1::/48"), or ""."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def stored_ip(ip: str | None) -> str | None:
    """The IP as stored: unchanged, or its network address when TRUNCATE_IP_ADDRESSES is on."""
    if not ip or not accounts_settings.TRUNCATE_IP_ADDRESSES:
        return ip
    network = network_of(ip)
    return network.split("/")[0] if network else None


def stored_user_agent(user_agent: str) -> str:
    """The user agent as stored: the string, or only "Browser N on OS" when PARSED_USER_AGENT_ONLY is on.

    With that setting a string naming neither a known browser nor a known OS is not kept
    at all (""): only what the parser recognised is stored, never free text.
    """
    if not user_agent or not accounts_settings.PARSED_USER_AGENT_ONLY:
        return user_agent
    return device(user_agent)
