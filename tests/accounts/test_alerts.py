"""Emails to users: a sign-in from a new device or network, and an operator revoking their credentials.

Sign-ins go through the real login form, signup and POST /api/token/; emails arrive in Django's
locmem outbox, sent by the background sender after the transaction commits (so these tests
commit: transaction=True).
"""

import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.http import HttpRequest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import KnownDevice, Session, SignInFamily
from accounts.services import notifications
from accounts.user_agents import describe
from tests.accounts.email_backends import BlockingBackend
from tests.concurrent import concurrently
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

FIREFOX_121 = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
FIREFOX_122 = "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
HOME = "198.51.100.7"
HOME_OTHER_ADDRESS = "198.51.100.200"  # same /24
CAFE = "203.0.113.9"
SESSIONS_URL = "http://testserver/accounts/sessions/"
STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


@pytest.fixture(autouse=True)
def _fast_hashing_and_empty_queue(settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert notifications.wait_for_emails(timeout=30)
    mail.outbox.clear()
    yield
    BlockingBackend.released.set()  # never leave the sender stuck for the next test
    assert notifications.wait_for_emails(timeout=30)


@pytest.fixture
def alice(db: Any) -> Any:
    return make_user("alice")


def site_sign_in(user_agent: str, ip: str, username: str = "alice") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def api_sign_in(user_agent: str, ip: str, username: str = "alice") -> dict[str, str]:
    client = APIClient(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post("/api/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def sent() -> list[Any]:
    """Every email the background sender delivered so far."""
    assert notifications.wait_for_emails(timeout=30)
    return list(mail.outbox)


def known(user: Any) -> set[tuple[str, str]]:
    return set(KnownDevice.objects.filter(user=user).values_list("device", "network"))


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in (PASSWORD, *secrets):
        assert secret and secret not in text


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class TestNewDeviceAlerts:
    def test_first_sign_in_records_the_device_without_an_email(self, alice: Any) -> None:
        site_sign_in(FIREFOX_121, HOME)
        assert sent() == []
        assert known(alice) == {("Firefox on Linux", "198.51.100.0/24")}

    def test_signing_up_records_the_device_without_an_email(self, db: Any) -> None:
        client = Client(HTTP_USER_AGENT=FIREFOX_121, REMOTE_ADDR=HOME)
        response = client.post(
            "/accounts/signup/",
            {"username": "carol", "email": "carol@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302, response.content[:500]
        assert client.get("/accounts/sessions/").status_code == 200
        assert sent() == []
        assert known(Session.objects.get().user) == {("Firefox on Linux", "198.51.100.0/24")}

    @pytest.mark.project  # signs in or revokes through /api/
    def test_same_device_and_network_sends_nothing_even_after_a_browser_update(self, alice: Any) -> None:
        site_sign_in(FIREFOX_121, HOME)
        first_seen = KnownDevice.objects.get(user=alice).last_seen
        site_sign_in(FIREFOX_121, HOME)
        site_sign_in(FIREFOX_122, HOME_OTHER_ADDRESS)  # newer version, same /24
        api_sign_in(FIREFOX_122, HOME)
        assert sent() == []
        device = KnownDevice.objects.get(user=alice)
        assert device.last_seen > first_seen

    def test_a_new_browser_on_the_site_sends_one_email(self, alice: Any) -> None:
        site_sign_in(FIREFOX_121, HOME)
        before = datetime.now(UTC).replace(microsecond=0)
        newcomer = site_sign_in(CHROME_WINDOWS, HOME)
        after = datetime.now(UTC)

        [email] = sent()
        assert email.to == ["alice@example.com"]
        assert email.from_email == settings.DEFAULT_FROM_EMAIL
        assert email.subject == "New sign-in to your account from Chrome 120 on Windows 10"
        assert describe(CHROME_WINDOWS) == "Chrome 120 on Windows 10"
        assert "Device: Chrome 120 on Windows 10" in email.body
        assert f"IP address: {HOME}" in email.body
        when = datetime.strptime(STAMP.search(email.body).group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert before <= when <= after
        assert SESSIONS_URL in email.body
        assert_no_secret(email.subject + email.body, session_key(newcomer))
        assert known(alice) == {
            ("Firefox on Linux", "198.51.100.0/24"),
            ("Chrome on Windows", "198.51.100.0/24"),
        }
        site_sign_in(CHROME_WINDOWS, HOME)  # now known
        assert len(sent()) == 1

    @pytest.mark.project  # signs in or revokes through /api/
    def test_with_ip_truncation_the_email_shows_only_the_network(self, alice: Any, settings: Any) -> None:
        settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "TRUNCATE_IP_ADDRESSES": True}
        site_sign_in(FIREFOX_121, HOME)
        api_sign_in(FIREFOX_121, CAFE)
        [email] = sent()
        assert "IP address: 203.0.113.0" in email.body
        assert CAFE not in email.body

    @pytest.mark.project  # signs in or revokes through /api/
    def test_a_new_network_through_the_api_sends_one_email(self, alice: Any) -> None:
        site_sign_in(FIREFOX_121, HOME)
        tokens = api_sign_in(FIREFOX_121, CAFE)
        [email] = sent()
        assert email.to == ["alice@example.com"]
        assert "Device: Firefox 121 on Linux" in email.body
        assert f"IP address: {CAFE}" in email.body
        assert SESSIONS_URL in email.body  # the API request's host
        assert_no_secret(email.subject + email.body, tokens["access"], tokens["refresh"])
        family = SignInFamily.objects.get(user=alice)
        assert str(family.pk) not in email.body
        api_sign_in(FIREFOX_122, "203.0.113.77")
        assert len(sent()) == 1

    def test_the_admin_login_form_alerts_too(self, db: Any) -> None:
        make_user("erin", is_staff=True)
        site_sign_in(FIREFOX_121, HOME, "erin")
        admin = Client(HTTP_USER_AGENT=CHROME_WINDOWS, REMOTE_ADDR=CAFE)
        response = admin.post("/admin/login/", {"username": "erin", "password": PASSWORD, "next": "/admin/"})
        assert response.status_code == 302 and response["Location"] == "/admin/"
        [email] = sent()
        assert email.to == ["erin@example.com"]
        assert "Device: Chrome 120 on Windows 10" in email.body and f"IP address: {CAFE}" in email.body

    @pytest.mark.project  # signs in or revokes through /api/
    def test_an_unknown_user_agent_is_not_copied_into_the_email(self, alice: Any) -> None:
        site_sign_in(FIREFOX_121, HOME)
        api_sign_in("Your account is locked: call +1 555 0100 or see https://evil.example", HOME)
        [email] = sent()
        assert email.subject == "New sign-in to your account from an unrecognised device"
        assert "evil.example" not in email.body and "555" not in email.body
        assert ("Other on Other", "198.51.100.0/24") in known(alice)

    @pytest.mark.project  # signs in through /api/
    @pytest.mark.services
    def test_simultaneous_sign_ins_from_one_new_device_send_one_email(
        self, alice: Any, settings: Any, caplog: Any
    ) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"token": "10000/min"},
        }
        site_sign_in(FIREFOX_121, HOME)
        with caplog.at_level(logging.WARNING, logger="accounts"):
            concurrently(lambda: api_sign_in(CHROME_WINDOWS, CAFE), threads=6)
            [email] = sent()
        assert not [r for r in caplog.records if r.name.startswith("accounts")], caplog.text
        assert f"IP address: {CAFE}" in email.body
        assert known(alice) == {
            ("Firefox on Linux", "198.51.100.0/24"),
            ("Chrome on Windows", "203.0.113.0/24"),
        }

    def test_an_ipv6_network_is_a_48(self, alice: Any) -> None:
        site_sign_in(FIREFOX_121, "2001:db8:1:2::10")
        site_sign_in(FIREFOX_121, "2001:db8:1:ffff::99")  # same /48
        assert sent() == []
        site_sign_in(FIREFOX_121, "2001:db8:2::10")
        assert len(sent()) == 1
        assert known(alice) == {
            ("Firefox on Linux", "2001:db8:1::/48"),
            ("Firefox on Linux", "2001:db8:2::/48"),
        }

    @pytest.mark.project  # signs in or revokes through /api/
    def test_site_url_makes_the_link(self, alice: Any, settings: Any) -> None:
        settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "SITE_URL": "https://auth.example.com/"}
        site_sign_in(FIREFOX_121, HOME)
        api_sign_in(CHROME_WINDOWS, CAFE)
        [email] = sent()
        assert "https://auth.example.com/accounts/sessions/" in email.body
        assert "testserver" not in email.body

    @pytest.mark.project  # signs in or revokes through /api/
    def test_alerts_off_send_and_record_nothing(self, alice: Any, settings: Any) -> None:
        settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "NEW_DEVICE_ALERTS": False}
        site_sign_in(FIREFOX_121, HOME)
        site_sign_in(CHROME_WINDOWS, CAFE)
        api_sign_in(CHROME_WINDOWS, "192.0.2.1")
        assert sent() == []
        assert known(alice) == set()

    def test_a_user_without_an_email_address_gets_nothing(self, db: Any) -> None:
        dave = make_user("dave", email="")
        site_sign_in(FIREFOX_121, HOME, "dave")
        site_sign_in(CHROME_WINDOWS, CAFE, "dave")
        assert sent() == []
        assert len(known(dave)) == 2  # still recorded: adding an address later does not flood them


def operator_client() -> Client:
    operator = make_user("operator", is_staff=True)
    operator.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_session", "revoke_session", "revoke_token", "view_user", "change_user"]
        )
    )
    client = Client(HTTP_USER_AGENT=FIREFOX_121)
    client.force_login(operator)
    return client


class TestRevocationAlerts:
    def test_an_operator_revoking_a_session_in_the_admin_emails_the_user(self, alice: Any) -> None:
        stolen = site_sign_in(FIREFOX_121, HOME)
        kept = site_sign_in(FIREFOX_121, HOME)
        operator = operator_client()
        assert sent() == []
        stolen_key, kept_key = session_key(stolen), session_key(kept)
        target = Session.objects.get(session_key=stolen_key)

        done = operator.post(
            "/admin/accounts/session/",
            {
                "action": "revoke_sessions",
                "_selected_action": [str(target.public_id)],
                "post": "yes",
                "reason": "laptop reported stolen",
            },
        )
        assert done.status_code == 302
        assert stolen.get("/accounts/sessions/").status_code == 302
        assert kept.get("/accounts/sessions/").status_code == 200

        [email] = sent()
        assert email.to == ["alice@example.com"]
        assert email.subject == "An administrator signed you out"
        assert "An administrator revoked 1 browser session of your account." in email.body
        assert "Reason: laptop reported stolen" in email.body
        assert SESSIONS_URL in email.body
        assert_no_secret(email.body, stolen_key, kept_key)

    @pytest.mark.project  # signs in or revokes through /api/
    def test_sign_out_everywhere_in_the_admin_sends_one_email_naming_both_kinds(self, alice: Any) -> None:
        browsers = [site_sign_in(FIREFOX_121, HOME) for _ in range(2)]
        tokens = api_sign_in(FIREFOX_121, HOME)
        operator = operator_client()
        done = operator.post(f"/admin/auth/user/{alice.pk}/sign-out-everywhere/", {"reason": ""})
        assert done.status_code == 302
        for browser in browsers:
            assert browser.get("/accounts/sessions/").status_code == 302
        [email] = sent()
        assert email.to == ["alice@example.com"]
        assert "revoked 2 browser sessions and 1 API sign-in of your account" in email.body
        assert "Reason: none given" in email.body
        assert_no_secret(email.body, tokens["access"], tokens["refresh"])

    @pytest.mark.project  # signs in or revokes through /api/
    def test_an_operator_changing_the_password_in_the_admin_emails_the_user(self, alice: Any) -> None:
        browser = site_sign_in(FIREFOX_121, HOME)
        api_sign_in(FIREFOX_121, HOME)
        root = make_user("root", is_staff=True, is_superuser=True)
        operator = Client(HTTP_USER_AGENT=FIREFOX_121)
        operator.force_login(root)
        new_password = "an-0perator-chose-this-one"
        response = operator.post(
            f"/admin/auth/user/{alice.pk}/password/",
            {"password1": new_password, "password2": new_password, "usable_password": "true"},
        )
        assert response.status_code == 302, response.content[:2000]
        assert browser.get("/accounts/sessions/").status_code == 302
        [email] = sent()
        assert email.to == ["alice@example.com"]
        assert "revoked 1 browser session and 1 API sign-in of your account" in email.body
        assert "Reason: password changed" in email.body
        assert_no_secret(email.body, new_password)

    def test_the_users_own_password_change_sends_nothing(self, alice: Any) -> None:
        mine = site_sign_in(FIREFOX_121, HOME)
        other = site_sign_in(FIREFOX_121, HOME)
        new_password = "a-new-passw0rd-of-her-own"
        response = mine.post(
            "/accounts/password_change/",
            {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
        )
        assert response.status_code == 302, response.content[:500]
        assert other.get("/accounts/sessions/").status_code == 302
        assert sent() == []

    def test_the_users_own_revocation_sends_nothing(self, alice: Any) -> None:
        mine = site_sign_in(FIREFOX_121, HOME)
        other = site_sign_in(FIREFOX_121, HOME)
        target = Session.objects.get(session_key=session_key(other))
        assert mine.post(f"/accounts/sessions/{target.public_id}/revoke/").status_code == 302
        assert mine.post("/accounts/sessions/revoke-others/").status_code == 302
        assert other.get("/accounts/sessions/").status_code == 302
        assert sent() == []

    def test_revocation_alerts_off_send_nothing(self, alice: Any, settings: Any) -> None:
        settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "REVOCATION_ALERTS": False}
        site_sign_in(FIREFOX_121, HOME)
        operator = operator_client()
        assert operator.post(f"/admin/auth/user/{alice.pk}/sign-out-everywhere/").status_code == 302
        assert not Session.objects.filter(user=alice).exists()
        assert sent() == []


class TestSendingNeverHurtsTheSignIn:
    @pytest.mark.project  # signs in or revokes through /api/
    def test_a_failing_mail_server_is_logged_and_the_sign_ins_succeed(
        self, alice: Any, settings: Any, caplog: Any
    ) -> None:
        settings.EMAIL_BACKEND = "tests.accounts.email_backends.FailingBackend"
        site_sign_in(FIREFOX_121, HOME)
        with caplog.at_level(logging.ERROR, logger="accounts"):
            browser = site_sign_in(CHROME_WINDOWS, HOME)  # 302: signed in
            tokens = api_sign_in(FIREFOX_121, CAFE)  # 200 with tokens
            assert sent() == []
        assert browser.get("/accounts/sessions/").status_code == 200
        me = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        assert me.status_code == 200
        failures = [r for r in caplog.records if r.name == "accounts.services.notifications"]
        assert len(failures) == 2, caplog.text
        for record in failures:
            assert record.levelno == logging.ERROR
            assert record.getMessage() == f"accounts: could not send the new_device email to user {alice.pk}"
            assert isinstance(record.exc_info[1], ConnectionRefusedError)
            assert_no_secret(caplog.text, tokens["access"], tokens["refresh"], session_key(browser))

    @pytest.mark.project  # signs in or revokes through /api/
    def test_a_hanging_mail_server_does_not_hold_the_response(self, alice: Any, settings: Any) -> None:
        BlockingBackend.reset()
        settings.EMAIL_BACKEND = "tests.accounts.email_backends.BlockingBackend"
        site_sign_in(FIREFOX_121, HOME)

        browser = site_sign_in(CHROME_WINDOWS, HOME)  # returns while the mail server hangs
        assert BlockingBackend.started.wait(30), "the email was never handed to the mail server"
        assert not BlockingBackend.timed_out.is_set()
        assert mail.outbox == []
        assert browser.get("/accounts/sessions/").status_code == 200
        tokens = api_sign_in(CHROME_WINDOWS, CAFE)  # queued behind the stuck one, also not waited for
        assert tokens["access"]

        BlockingBackend.released.set()
        assert notifications.wait_for_emails(timeout=30)
        assert not BlockingBackend.timed_out.is_set()
        assert [m.to for m in mail.outbox] == [["alice@example.com"], ["alice@example.com"]]
        assert CAFE in mail.outbox[1].body


class TestSessionsLink:
    def test_site_url_wins_over_the_request(self, settings: Any, rf: Any) -> None:
        settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "SITE_URL": "https://auth.example.com"}
        assert notifications.sessions_url(rf.get("/")) == "https://auth.example.com/accounts/sessions/"

    def test_without_site_url_or_request_it_is_the_path(self) -> None:
        assert notifications.sessions_url(None) == "/accounts/sessions/"

    def test_a_request_without_a_host_gives_the_path(self) -> None:
        assert notifications.sessions_url(HttpRequest()) == "/accounts/sessions/"
