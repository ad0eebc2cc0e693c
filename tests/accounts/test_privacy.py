"""Privacy settings: what is stored of a client's IP and user agent (docs/privacy.md)."""

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AccessCutoff, FamilyToken, KnownDevice, RevocationEvent, Session, SignInFamily
from accounts.services import revocation
from tests.conftest import BROWSER_UA
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

IPV4, IPV4_NETWORK = "203.0.113.77", "203.0.113.0"
IPV6, IPV6_NETWORK = "2001:db8:1:2::5", "2001:db8:1::"
UNPARSEABLE_UA = "MyCorpApp build 1234 user=jdoe"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def configure(settings: Any, **accounts: Any) -> None:
    settings.ACCOUNTS = {**getattr(django_settings, "ACCOUNTS", {}), **accounts}


def site_sign_in(client: Client, username: str = "alice", password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def api_sign_in(client: APIClient, username: str = "alice", password: str = PASSWORD) -> Any:
    return client.post("/api/token/", {"username": username, "password": password}, format="json")


def session_of(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies[django_settings.SESSION_COOKIE_NAME].value)


@pytest.mark.parametrize(
    ("truncate", "proxies", "headers", "stored"),
    [
        (False, 0, {"REMOTE_ADDR": IPV4}, IPV4),
        (True, 0, {"REMOTE_ADDR": IPV4}, IPV4_NETWORK),
        (False, 1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"198.51.100.1, {IPV6}"}, IPV6),
        (True, 1, {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"198.51.100.1, {IPV6}"}, IPV6_NETWORK),
    ],
    ids=["ipv4-exact", "ipv4-truncated", "ipv6-exact", "ipv6-truncated"],
)
class TestStoredIp:
    """The session row, the family row and the audit event keep the IP as the setting says."""

    def test_browser_session(
        self, settings: Any, truncate: bool, proxies: int, headers: Any, stored: str
    ) -> None:
        configure(settings, TRUNCATE_IP_ADDRESSES=truncate, TRUSTED_PROXY_COUNT=proxies)
        make_user("alice")
        browser = Client(HTTP_USER_AGENT=BROWSER_UA, **headers)
        assert site_sign_in(browser).status_code == 302
        assert session_of(browser).ip == stored
        page = browser.get("/accounts/sessions/")
        assert page.status_code == 200
        assert f"<td>{stored}</td>" in page.content.decode()

    def test_activity_updates_store_the_same_form(
        self, settings: Any, truncate: bool, proxies: int, headers: Any, stored: str
    ) -> None:
        """The IP written on later activity is stored like the sign-in's (here: a new address)."""
        configure(
            settings, TRUNCATE_IP_ADDRESSES=truncate, TRUSTED_PROXY_COUNT=proxies, SESSION_ACTIVITY_INTERVAL=0
        )
        make_user("alice")
        browser = Client(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="192.0.2.10")
        assert site_sign_in(browser).status_code == 302
        assert session_of(browser).ip == ("192.0.2.0" if truncate else "192.0.2.10")
        assert browser.get("/accounts/sessions/", **headers).status_code == 200
        assert session_of(browser).ip == stored

    @pytest.mark.project  # signs in or revokes through /api/
    def test_api_sign_in_family(
        self, settings: Any, truncate: bool, proxies: int, headers: Any, stored: str
    ) -> None:
        configure(settings, TRUNCATE_IP_ADDRESSES=truncate, TRUSTED_PROXY_COUNT=proxies)
        make_user("alice")
        api = APIClient(**headers)
        response = api_sign_in(api)
        assert response.status_code == 200
        assert SignInFamily.objects.get().ip == stored
        listed = api.get("/api/me/sessions/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}").json()
        assert [c["ip"] for c in listed] == [stored]

    @pytest.mark.project  # signs in or revokes through /api/
    def test_revocation_event(
        self, settings: Any, truncate: bool, proxies: int, headers: Any, stored: str
    ) -> None:
        """The actor IP of an audit event (here the user revoking their own sign-in over the API)."""
        configure(settings, TRUNCATE_IP_ADDRESSES=truncate, TRUSTED_PROXY_COUNT=proxies)
        make_user("alice")
        api = APIClient(**headers)
        access = api_sign_in(api).json()["access"]
        family = SignInFamily.objects.get()
        auth = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
        assert api.delete(f"/api/me/sessions/{family.pk}/", **auth).status_code == 204
        assert RevocationEvent.objects.get(target=str(family.pk)).ip == stored
        assert api.get("/api/me/", **auth).status_code == 401  # revoked all the same


def test_site_revocation_event_is_truncated(settings: Any) -> None:
    configure(settings, TRUNCATE_IP_ADDRESSES=True)
    make_user("alice")
    browser = Client(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=IPV4)
    assert site_sign_in(browser).status_code == 302
    session = session_of(browser)
    response = browser.post(f"/accounts/sessions/{session.public_id}/revoke/")
    assert response.status_code == 302
    assert RevocationEvent.objects.get(target=str(session.public_id)).ip == IPV4_NETWORK
    assert browser.get("/accounts/sessions/").status_code == 302  # signed out: to the login page


@pytest.mark.project  # signs in or revokes through /api/
def test_sign_in_throttle_counts_each_exact_ip_with_truncation_on(settings: Any) -> None:
    """Truncation changes what is stored, not what is counted: a neighbour in the same /24 is not blocked."""
    configure(settings, TRUNCATE_IP_ADDRESSES=True, LOGIN_FAILURES_PER_IP=3)
    make_user("alice")
    for i in range(3):  # three different accounts: only the per-IP counter reaches its limit
        assert site_sign_in(Client(REMOTE_ADDR="203.0.113.7"), f"nobody{i}", "wrong").status_code == 200
    assert site_sign_in(Client(REMOTE_ADDR="203.0.113.7")).status_code == 429
    assert api_sign_in(APIClient(REMOTE_ADDR="203.0.113.7")).status_code == 429
    neighbour = Client(REMOTE_ADDR="203.0.113.8")
    assert site_sign_in(neighbour).status_code == 302
    assert session_of(neighbour).ip == "203.0.113.0"
    assert api_sign_in(APIClient(REMOTE_ADDR="203.0.113.9")).status_code == 200


@pytest.mark.parametrize(
    ("parsed_only", "raw", "stored", "device"),
    [
        (False, BROWSER_UA, BROWSER_UA, "Firefox 121 on Linux"),
        (True, BROWSER_UA, "Firefox 121 on Linux", "Firefox 121 on Linux"),
        (False, UNPARSEABLE_UA, UNPARSEABLE_UA, UNPARSEABLE_UA),
        (True, UNPARSEABLE_UA, "", "Unknown device"),
    ],
    ids=["full", "parsed", "unparseable-full", "unparseable-parsed"],
)
@pytest.mark.project  # signs in or revokes through /api/
def test_stored_user_agent_and_device_shown(
    settings: Any, parsed_only: bool, raw: str, stored: str, device: str
) -> None:
    """Parsed-only keeps "Browser N on OS" (nothing unrecognised); the pages still name the device."""
    configure(settings, PARSED_USER_AGENT_ONLY=parsed_only)
    make_user("alice")
    browser = Client(HTTP_USER_AGENT=raw)
    assert site_sign_in(browser).status_code == 302
    api = APIClient(HTTP_USER_AGENT=raw)
    access = api_sign_in(api).json()["access"]

    assert session_of(browser).user_agent == stored
    assert SignInFamily.objects.get().user_agent == stored
    page = browser.get("/accounts/sessions/").content.decode()
    assert page.count(f"<strong>{device}</strong>") == 2  # the session and the API sign-in
    listed = api.get("/api/me/sessions/", HTTP_AUTHORIZATION=f"Bearer {access}").json()
    assert [c["user_agent"] for c in listed] == [stored, stored]

    operator = make_user("operator", is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="view_session"))
    admin = Client()
    admin.force_login(operator)
    changelist = admin.get("/admin/accounts/session/")
    assert changelist.status_code == 200
    assert device in changelist.content.decode()


def test_admin_search_by_exact_ip_finds_truncated_rows(settings: Any) -> None:
    configure(settings, TRUNCATE_IP_ADDRESSES=True)
    make_user("alice")
    browser = Client(REMOTE_ADDR=IPV4)
    assert site_sign_in(browser).status_code == 302
    public_id = str(session_of(browser).public_id)[:8]
    operator = make_user("operator", is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="view_session"))
    admin = Client()
    admin.force_login(operator)
    for term in (IPV4, IPV4_NETWORK):
        assert public_id in admin.get("/admin/accounts/session/", {"q": term}).content.decode()
    assert public_id not in admin.get("/admin/accounts/session/", {"q": "198.51.100.7"}).content.decode()


@pytest.mark.project  # signs in or revokes through /api/
def test_erasing_a_user_leaves_only_unlinked_rows(settings: Any) -> None:
    """docs/privacy.md "Erase": sign out everywhere, delete the user; what remains is unlinked."""
    configure(settings, TRUNCATE_IP_ADDRESSES=True)
    alice = make_user("alice")
    browser = Client(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=IPV4)
    assert site_sign_in(browser).status_code == 302
    api = APIClient(REMOTE_ADDR=IPV4)
    pair = api_sign_in(api).json()
    rotated = api.post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json").json()
    KnownDevice.objects.get_or_create(user=alice, device="Firefox on Linux", network="203.0.113.0/24")

    revocation.user_sign_out_everywhere(user=alice, reason="account erased")
    get_user_model().objects.filter(pk=alice.pk).delete()

    for model in (Session, SignInFamily, FamilyToken, AccessCutoff, KnownDevice):
        assert not model.objects.exists(), model
    # Refresh tokens (fingerprints, no owner) and the audit event stay, unlinked, until purged.
    assert list(OutstandingToken.objects.values_list("user_id", flat=True)) == [None, None]
    event = RevocationEvent.objects.get(reason="account erased")
    assert (event.user_id, event.actor_id, event.ip) == (None, None, None)
    # Nothing of hers is accepted any more.
    assert browser.get("/accounts/sessions/").status_code == 302
    assert api.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {rotated['access']}").status_code == 401
    assert api.post("/api/token/refresh/", {"refresh": rotated["refresh"]}, format="json").status_code == 401
