"""The site as a browser sees it: sign-in, sign-out, password change, "Where you're signed in"."""

import io
import re
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.backends.db import SessionStore
from accounts.models import RevocationEvent, Session, SignInFamily
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import PASSWORD, make_family

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """These tests sign in often; PBKDF2's deliberate slowness proves nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(username: str = "alice", ua: str = BROWSER_UA) -> Client:
    client = Client(HTTP_USER_AGENT=ua)
    sign_in(client, username)
    return client


def key_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def public_id_of(client: Client) -> uuid.UUID:
    return Session.objects.get(pk=key_of(client)).public_id


def is_signed_in(client: Client) -> bool:
    """Ask the sessions page, as the user would: 200 signed in, a login redirect otherwise."""
    response = client.get("/accounts/sessions/")
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
        return False
    assert response.status_code == 200
    return True


def revoke(client: Client, public_id: Any) -> Any:
    return client.post(f"/accounts/sessions/{public_id}/revoke/")


# Sign-in and sign-out


def test_login_rotates_the_session_key(user: Any) -> None:
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    anonymous = SessionStore()
    anonymous["basket"] = ["book"]
    anonymous.save()
    browser.cookies[settings.SESSION_COOKIE_NAME] = anonymous.session_key
    sign_in(browser, "alice")
    assert key_of(browser) != anonymous.session_key
    assert not Session.objects.filter(pk=anonymous.session_key).exists()
    assert Session.objects.get(pk=key_of(browser)).user_id == user.pk
    # The pre-login key (e.g. one an attacker planted) does not carry the sign-in.
    planted = Client()
    planted.cookies[settings.SESSION_COOKIE_NAME] = anonymous.session_key
    assert not is_signed_in(planted)


def test_login_with_an_unknown_planted_key_gets_a_fresh_one(user: Any) -> None:
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = "q" * 32
    sign_in(browser, "alice")
    assert key_of(browser) != "q" * 32
    assert not Session.objects.filter(pk="q" * 32).exists()


def test_logout_post_ends_the_session_server_side(user: Any) -> None:
    browser = signed_in()
    key = key_of(browser)
    response = browser.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 0
    assert not Session.objects.filter(pk=key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not is_signed_in(replay)


def test_logout_by_get_is_refused(user: Any) -> None:
    browser = signed_in()
    response = browser.get("/accounts/logout/")
    assert response.status_code == 405
    assert is_signed_in(browser)


def test_signup_signs_the_new_user_in(db: Any) -> None:
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    assert browser.get("/accounts/signup/").status_code == 200
    response = browser.post(
        "/accounts/signup/",
        {"username": "carol", "email": "carol@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sessions/"
    row = Session.objects.get(pk=key_of(browser))
    assert row.user.username == "carol"
    assert row.user_agent == BROWSER_UA
    assert b"carol" in browser.get("/accounts/sessions/").content


def test_signup_with_a_bad_form_shows_errors(db: Any) -> None:
    response = Client().post("/accounts/signup/", {"username": "carol", "password1": "x", "password2": "y"})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not Session.objects.exists()


# Password change


def change_password(client: Client) -> Any:
    return client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-7",
            "new_password2": "a-new-long-passphrase-7",
        },
    )


def test_password_change_keeps_this_session_and_ends_every_other(user: Any) -> None:
    here, elsewhere = signed_in(), signed_in(ua=PHONE_UA)
    pair = make_family(user)
    before = key_of(here)
    response = change_password(here)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    assert is_signed_in(here)
    assert key_of(here) != before  # update_session_auth_hash rotates the key
    assert not is_signed_in(elsewhere)
    assert Session.objects.filter(user=user).count() == 1
    pair.family.refresh_from_db()
    assert pair.family.revoked_at is not None
    assert BlacklistedToken.objects.filter(token__family_link__family=pair.family).exists()
    event = RevocationEvent.objects.get()
    assert (event.action, event.actor_id, event.user_id) == ("others", user.pk, user.pk)
    assert event.reason == "password changed"
    assert event.ip == "127.0.0.1"
    assert event.count == 2  # the phone's session and the API sign-in
    assert b"Password changed" in here.get("/accounts/password_change/done/").content


@pytest.mark.project  # proves the refresh token fails through /api/
def test_password_change_ends_the_api_sign_ins(user: Any, api_client: Any) -> None:
    pair = make_family(user)
    assert change_password(signed_in()).status_code == 302
    assert api_client.post("/api/token/refresh/", {"refresh": pair.refresh}, format="json").status_code == 401


# "Where you're signed in"


def test_sessions_page_lists_devices_and_marks_this_one(user: Any) -> None:
    here, phone = signed_in(), signed_in(ua=PHONE_UA)
    make_family(user, ip="198.51.100.4", user_agent="curl/8.5.0")
    rows_before = list(Session.objects.filter(user=user))  # the page shows these values
    html = here.get("/accounts/sessions/").content.decode()
    assert "Firefox 121 on Linux" in html  # browser/OS parsed from the user agent
    assert "Mobile Safari 17 on iOS 17.1" in html
    assert BROWSER_UA in html and PHONE_UA in html  # the full strings too
    assert "127.0.0.1" in html and "198.51.100.4" in html
    assert html.count('class="credential current"') == 1
    rows = re.findall(r'<tr class="credential[^"]*".*?</tr>', html, flags=re.S)
    assert len(rows) == 3
    current = next(r for r in rows if "current" in r.split(">")[0])
    assert "Firefox 121 on Linux" in current and "This browser" in current
    assert len(rows_before) == 2
    for session in rows_before:
        assert str(session.public_id) in html
        assert f'datetime="{session.created_at.isoformat()}"' in html
        assert f'datetime="{session.last_activity.isoformat()}"' in html
    assert key_of(phone) not in html


def test_no_page_ever_shows_the_session_key(user: Any) -> None:
    browser = signed_in()
    make_family(user)
    key = key_of(browser)
    pages = [
        "/",
        "/accounts/sessions/",
        "/accounts/password_change/",
        "/accounts/password_change/done/",
        "/accounts/signup/",
        "/accounts/login/",
        "/api/me/",
        "/api/me/sessions/",
        "/accounts/sessions/00000000-0000-0000-0000-000000000000/revoke/",
    ]
    for path in pages:
        response = browser.get(path)
        assert response.status_code < 500, path
        assert key not in response.content.decode(), path
        assert key not in response.get("Location", ""), path
    assert key not in revoke(browser, uuid.uuid4()).content.decode()


def test_revoking_another_session_ends_it_and_spares_the_rest(user: Any) -> None:
    here, phone, laptop = signed_in(), signed_in(ua=PHONE_UA), signed_in()
    target = public_id_of(phone)
    response = revoke(here, target)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sessions/"
    page = here.get("/accounts/sessions/").content.decode()
    assert "Signed out that session." in page
    assert str(target) not in page
    assert not is_signed_in(phone)
    assert is_signed_in(here) and is_signed_in(laptop)
    event = RevocationEvent.objects.get()
    assert (event.action, event.target, event.count) == ("session", str(target), 1)
    assert (event.actor_id, event.user_id, event.ip) == (user.pk, user.pk, "127.0.0.1")
    assert event.reason == "revoked by the user"


def test_revoking_this_session_signs_out_here(user: Any) -> None:
    here = signed_in()
    key = key_of(here)
    response = revoke(here, public_id_of(here))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Session.objects.filter(pk=key).exists()
    assert not is_signed_in(here)
    assert RevocationEvent.objects.get().action == "session"


@pytest.mark.project  # proves the refresh token fails through /api/
def test_revoking_an_api_sign_in_from_the_page(user: Any, api_client: Any) -> None:
    here = signed_in()
    pair = make_family(user)
    assert revoke(here, pair.family.pk).status_code == 302
    assert SignInFamily.objects.get(pk=pair.family.pk).revoked_at is not None
    assert api_client.post("/api/token/refresh/", {"refresh": pair.refresh}, format="json").status_code == 401
    assert RevocationEvent.objects.get().action == "family"
    assert is_signed_in(here)


def test_sign_out_all_others(user: Any, other_user: Any) -> None:
    here, phone, laptop = signed_in(), signed_in(ua=PHONE_UA), signed_in()
    bob = signed_in("bob")
    pair = make_family(user)
    response = here.post("/accounts/sessions/revoke-others/")
    assert response.status_code == 302
    assert "Signed out 3 other sessions and API sign-ins." in here.get("/accounts/sessions/").content.decode()
    assert is_signed_in(here) and is_signed_in(bob)
    assert not is_signed_in(phone) and not is_signed_in(laptop)
    assert SignInFamily.objects.get(pk=pair.family.pk).revoked_at is not None
    event = RevocationEvent.objects.get()
    assert (event.action, event.count, event.actor_id, event.user_id) == ("others", 3, user.pk, user.pk)
    assert event.ip == "127.0.0.1" and event.reason


def test_cannot_revoke_another_users_session(user: Any, other_user: Any) -> None:
    alice, bob = signed_in("alice"), signed_in("bob")
    response = revoke(alice, public_id_of(bob))
    assert response.status_code == 404
    assert is_signed_in(bob)
    assert not RevocationEvent.objects.exists()


def test_cannot_revoke_another_users_api_sign_in(user: Any, other_user: Any) -> None:
    alice = signed_in("alice")
    pair = make_family(other_user)
    assert revoke(alice, pair.family.pk).status_code == 404
    assert SignInFamily.objects.get(pk=pair.family.pk).revoked_at is None


def test_revoking_a_nonexistent_or_malformed_id(user: Any) -> None:
    alice = signed_in()
    assert revoke(alice, uuid.uuid4()).status_code == 404
    assert revoke(alice, "not-a-uuid").status_code == 404
    assert alice.post("/accounts/sessions/" + "9" * 5000 + "/revoke/").status_code == 404
    assert not RevocationEvent.objects.exists()
    assert is_signed_in(alice)


def test_revoke_by_get_is_refused(user: Any) -> None:
    alice, phone = signed_in(), signed_in(ua=PHONE_UA)
    assert alice.get(f"/accounts/sessions/{public_id_of(phone)}/revoke/").status_code == 405
    assert alice.get("/accounts/sessions/revoke-others/").status_code == 405
    assert is_signed_in(phone)


def test_pages_need_a_signed_in_user(db: Any) -> None:
    anonymous = Client()
    for path in ("/accounts/sessions/", "/accounts/password_change/"):
        response = anonymous.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = revoke(anonymous, uuid.uuid4())
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# Bad input: never a 500


# A page anonymous visitors get, and what it shows them: the project's home, the app's login page.
ANONYMOUS_PAGES = [
    pytest.param("/", b"You are not signed in.", marks=pytest.mark.project, id="home"),
    pytest.param("/accounts/login/", b'name="password"', id="login"),
]


@pytest.mark.parametrize(("page", "anonymous_text"), ANONYMOUS_PAGES)
@pytest.mark.parametrize(
    "cookie",
    ["q" * 32, "x" * 4096, "' OR 1=1--", '"abcd\\000efghijklmnop"', "é" * 10, "..%2F..%2Fetc"],
    ids=["unknown", "4kb", "sql", "nul", "unicode", "path"],
)
def test_bad_session_cookies_are_anonymous(cookie: str, page: str, anonymous_text: bytes, user: Any) -> None:
    client = Client(raise_request_exception=False, HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={cookie}")
    home = client.get(page)
    assert home.status_code == 200
    assert anonymous_text in home.content
    assert cookie.encode() not in home.content
    if settings.SESSION_COOKIE_NAME in home.cookies:  # Django may expire the bad cookie...
        assert home.cookies[settings.SESSION_COOKIE_NAME].value == ""  # ...but never echoes it
        assert home.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 0
    sessions = client.get("/accounts/sessions/")
    assert sessions.status_code == 302


@pytest.mark.parametrize(("page", "anonymous_text"), ANONYMOUS_PAGES)
def test_tampered_session_cookie_is_anonymous(page: str, anonymous_text: bytes, user: Any) -> None:
    key = key_of(signed_in())
    tampered = key[:-1] + ("a" if key[-1] != "a" else "b")
    client = Client(HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={tampered}")
    assert not is_signed_in(client)
    assert anonymous_text in client.get(page).content


def _csrf_token(client: Client, path: str) -> str:
    html = client.get(path).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_login_form_with_a_valid_csrf_token_works(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token(client, "/accounts/login/")
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert is_signed_in(client)


@pytest.mark.parametrize("forged", [None, "x" * 64, "A" * 32], ids=["missing", "forged", "wrong-secret"])
def test_login_without_a_valid_csrf_token_is_refused(forged: str | None, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # sets the CSRF cookie, as a browser would have
    data = {"username": "alice", "password": PASSWORD}
    if forged:
        data["csrfmiddlewaretoken"] = forged
    response = client.post("/accounts/login/", data)
    assert response.status_code == 403
    assert not Session.objects.exists()


def test_revoke_without_a_valid_csrf_token_is_refused(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    phone = signed_in(ua=PHONE_UA)
    target = public_id_of(phone)
    assert client.post(f"/accounts/sessions/{target}/revoke/").status_code == 403
    response = client.post(f"/accounts/sessions/{target}/revoke/", {"csrfmiddlewaretoken": "x" * 64})
    assert response.status_code == 403
    assert client.post("/accounts/sessions/revoke-others/").status_code == 403
    assert is_signed_in(phone)
    assert not RevocationEvent.objects.exists()
    # The same client with the page's token succeeds: the 403s above were the CSRF check.
    token = _csrf_token(client, "/accounts/sessions/")
    assert (
        client.post(f"/accounts/sessions/{target}/revoke/", {"csrfmiddlewaretoken": token}).status_code == 302
    )
    assert not is_signed_in(phone)


def test_csrf_protected_revoke_of_a_foreign_or_missing_id_is_404(user: Any, other_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    bob = signed_in("bob")
    token = _csrf_token(client, "/accounts/sessions/")
    for target in (public_id_of(bob), uuid.uuid4()):
        response = client.post(f"/accounts/sessions/{target}/revoke/", {"csrfmiddlewaretoken": token})
        assert response.status_code == 404
    assert is_signed_in(bob)


@pytest.mark.project  # the project's own error pages
def test_refusals_show_the_sites_error_pages(user: Any, other_user: Any) -> None:
    alice, bob = signed_in("alice"), signed_in("bob")
    for target in (public_id_of(bob), uuid.uuid4()):
        not_found = revoke(alice, target)
        assert not_found.status_code == 404
        assert b"Not found" in not_found.content  # the site's 404 page, not a traceback
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    refused = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    assert b"CSRF token was missing or wrong" in refused.content


def test_session_cookie_attributes(user: Any) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    morsel = response.cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert not morsel["domain"]


# The demo account of `make run`


def test_demo_account_prints_credentials_that_sign_in(settings: Any, db: Any) -> None:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("demo_account", stdout=out)
    password = re.search(r"username: demo\s+password: (\S+)", out.getvalue()).group(1)
    client = Client()
    response = client.post("/accounts/login/", {"username": "demo", "password": password})
    assert response.status_code == 302
    assert is_signed_in(client)
    call_command("demo_account", stdout=io.StringIO())  # a re-run resets the password...
    assert not is_signed_in(client)  # ...which signs the old demo sessions out


def test_demo_account_is_never_created_with_debug_off(settings: Any, db: Any) -> None:
    settings.DEBUG = False
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_account", stdout=out, stderr=err)
    assert "password" not in out.getvalue()
    assert "no demo account" in err.getvalue()
    assert not Session.objects.exists()
    assert not get_user_model().objects.filter(username="demo").exists()
