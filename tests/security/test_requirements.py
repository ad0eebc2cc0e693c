"""Checklist rows (docs/security.md) not proven elsewhere, and regressions for the stock stack's failures."""

import json
import os
import re
import subprocess
import sys
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import Session
from accounts.tokens import AccessToken
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.live import ROOT
from tests.security.hostile import claims_like, sign, unverified

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60


def obtain(username: str = "alice", password: str = PASSWORD) -> Any:
    return APIClient().post("/api/token/", {"username": username, "password": password}, format="json")


def refresh(token: str) -> Any:
    return APIClient().post("/api/token/refresh/", {"refresh": token}, format="json")


def me(access: str) -> Any:
    return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def production_settings(**extra: str) -> dict[str, Any]:
    """Import project.settings in a fresh process with DEBUG off and return the security values."""
    names = [
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME",
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "DEBUG",
    ]  # fmt: skip
    code = f"import json, project.settings as s; print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))}
    env.update({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "k" * 60, "JWT_SIGNING_KEY": "j" * 60, **extra})
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


# --- A. Cookies and transport -------------------------------------------------------------


def test_r01_r04_r06_production_cookies_and_transport() -> None:
    s = production_settings()
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert s["SESSION_COOKIE_NAME"] == "__Host-sessionid" and s["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


@override_settings(
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SESSION_COOKIE_NAME="__Host-sessionid",
    CSRF_COOKIE_NAME="__Host-csrftoken",
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
)
def test_r01_to_r04_r06_cookie_attributes_over_https(user: Any) -> None:
    client = Client()
    assert client.get("/accounts/login/").status_code == 301  # plain HTTP redirects to https
    page = client.get("/accounts/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    session = response.cookies["__Host-sessionid"]
    csrf = page.cookies["__Host-csrftoken"]
    for cookie in (session, csrf):
        assert cookie["secure"] is True
        assert cookie["path"] == "/"
        assert not cookie["domain"]
        assert cookie["samesite"] == "Lax"
    assert session["httponly"] is True
    api = APIClient().get("/api/me/", secure=True)
    assert api["Strict-Transport-Security"].startswith("max-age=31536000")  # on API errors too


def test_r02_session_key_never_in_a_body(user: Any, browser: Client) -> None:
    sign_in(browser, "alice")
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    for path in ("/", "/accounts/sessions/", "/api/me/", "/api/me/sessions/"):
        assert key.encode() not in browser.get(path).content


# --- B. Session lifecycle -----------------------------------------------------------------


def test_r07_login_issues_a_new_session_key(user: Any) -> None:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "attackerplanted0000000000000000000"
    client.get("/accounts/login/")
    anonymous = Client()
    anonymous.get("/accounts/login/")
    anonymous.session["x"] = 1
    before = anonymous.session.session_key
    sign_in(anonymous, "alice")
    after = anonymous.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    old = Client()
    old.cookies[settings.SESSION_COOKIE_NAME] = before
    assert old.get("/accounts/sessions/").status_code == 302


def test_r08_session_keys_are_random_and_long() -> None:
    from accounts.backends.db import SessionStore

    keys = {SessionStore()._get_new_session_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(re.fullmatch(r"[a-z0-9]{32}", k) for k in keys)


def test_r09_logout_is_post_only_and_ends_the_session(user: Any, browser: Client) -> None:
    sign_in(browser, "alice")
    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.get("/accounts/logout/").status_code == 405
    response = browser.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 0
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert replay.get("/accounts/sessions/").status_code == 302


# --- D. JWT -------------------------------------------------------------------------------


def test_r13_access_lifetime_is_short() -> None:
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() <= 15 * 60
    token = AccessToken()
    assert token["exp"] - token["iat"] <= 15 * 60


def test_r13_refresh_chain_stops_at_the_family_absolute_lifetime(user: Any, time_machine: Any) -> None:
    """Regression (stock failure 4): rotation used to grant a fresh full lifetime forever."""
    time_machine.move_to("2030-01-01 00:00:00+00:00", tick=False)
    tokens = obtain().json()
    absolute = settings.ACCOUNTS["FAMILY_ABSOLUTE_LIFETIME"]
    step = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds() - 60
    elapsed = 0.0
    while elapsed + step < absolute:
        time_machine.shift(step)
        elapsed += step
        response = refresh(tokens["refresh"])
        assert response.status_code == 200, response.content
        tokens = response.json()
        assert unverified(tokens["refresh"])["exp"] <= 1893456000 + absolute
    time_machine.shift(absolute - elapsed + 1)
    assert refresh(tokens["refresh"]).status_code == 401


def test_r29_jti_unique() -> None:
    assert len({AccessToken()["jti"] for _ in range(1000)}) == 1000


def test_r30_reuse_revokes_the_whole_family(user: Any) -> None:
    first = obtain().json()
    second = refresh(first["refresh"]).json()
    assert refresh(first["refresh"]).status_code == 401  # replay
    assert refresh(second["refresh"]).status_code == 401  # the family is gone
    assert me(second["access"]).status_code == 401


def test_r32_blacklist_is_immediate_and_answers_garbage_consistently(user: Any) -> None:
    tokens = obtain().json()
    client = APIClient()
    assert (
        client.post("/api/token/blacklist/", {"refresh": tokens["refresh"]}, format="json").status_code == 200
    )
    assert refresh(tokens["refresh"]).status_code == 401
    assert me(tokens["access"]).status_code == 401
    answers = {
        client.post("/api/token/blacklist/", {"refresh": junk}, format="json").json()["code"]
        for junk in (
            "garbage",
            "a.b.c",
            tokens["access"],
            sign({"x": 1}, "another-signing-key-of-32-bytes-or-more"),
        )
    }
    assert answers == {"token_not_valid"}


def test_r34_signing_key_is_separate_and_strong() -> None:
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY
    assert len(settings.SIMPLE_JWT["SIGNING_KEY"]) >= 32
    with pytest.raises(subprocess.CalledProcessError) as refused:
        production_settings(JWT_SIGNING_KEY="k" * 60)  # same as the secret key
    assert "JWT_SIGNING_KEY must differ" in refused.value.stderr


def test_r35_token_payloads_carry_no_personal_data(user: Any) -> None:
    tokens = obtain().json()
    allowed = {"token_type", "exp", "iat", "jti", "user_id", "sid", "aud", "iss"}
    for raw in tokens.values():
        assert set(unverified(raw)) <= allowed


def test_x21_claim_type_confusion_is_a_401(user: Any) -> None:
    """Regression (stock failure 6): `exp` as a string was a 500."""
    access = obtain().json()["access"]
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    for change in ({"exp": "9999999999"}, {"user_id": {"$gt": ""}}, {"iat": "1"}, {"jti": 5}, {"sid": []}):
        response = me(sign(claims_like(access, **change), key))
        assert response.status_code == 401, (change, response.content)


# --- E. Login and token endpoints ---------------------------------------------------------


class CountingHasher(PBKDF2PasswordHasher):
    """The project's algorithm, counting how many times it derives a key."""

    iterations = 1000
    calls = 0

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        type(self).calls += 1
        return super().encode(password, salt, iterations)


@override_settings(PASSWORD_HASHERS=["tests.security.test_requirements.CountingHasher"])
def test_r37_unknown_user_costs_the_same_hash_as_a_wrong_password() -> None:
    make_user("alice")
    make_user("inactive", is_active=False)
    costs, bodies = {}, {}
    for name in ("alice", "nobody", "inactive"):
        CountingHasher.calls = 0
        response = obtain(name, "wrong-password")
        costs[name], bodies[name] = CountingHasher.calls, response.json()
        assert response.status_code == 401
    assert costs["alice"] == costs["nobody"] == costs["inactive"] == 1
    assert bodies["alice"] == bodies["nobody"] == bodies["inactive"]


def test_r38_long_passwords_register_and_sign_in() -> None:
    for length in (64, 128):
        password = "Aa1!" * (length // 4)
        client = Client()
        response = client.post(
            "/accounts/signup/",
            {"username": f"long{length}", "email": "", "password1": password, "password2": password},
        )
        assert response.status_code == 302, response.content[:500]
        assert obtain(f"long{length}", password).status_code == 200


@pytest.mark.real_hasher
def test_r39_password_hasher_is_pbkdf2_with_enough_iterations() -> None:
    hasher = get_hasher("default")
    assert hasher.algorithm == "pbkdf2_sha256"
    assert hasher.iterations >= 600_000


# --- F. Headers ---------------------------------------------------------------------------

ROUTES = [
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/admin/login/",
    "/api/me/",
    "/no-such-page/",
    "/api/nope/",
]


@pytest.mark.parametrize("path", ROUTES)
def test_r41_security_headers_on_every_route_class(path: str) -> None:
    response = Client().get(path)
    assert response.status_code in (200, 302, 401, 404)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'"):
        assert directive in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)


def test_r41_pages_need_no_inline_script_or_style(user: Any) -> None:
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    pages = ["/", "/accounts/login/", "/accounts/signup/", "/admin/login/"]
    for path in pages:
        body = Client().get(path).content
        assert not INLINE_SCRIPT.search(body), path
        assert b' style="' not in body and b"<style" not in body, path
    client.force_login(admin)
    for path in ["/accounts/sessions/", "/admin/", "/admin/accounts/session/", "/admin/auth/user/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert not INLINE_SCRIPT.search(response.content), path
        assert b"<style" not in response.content, path


def test_r42_authenticated_pages_and_token_responses_are_not_stored(user: Any, browser: Client) -> None:
    """Regression (stock failure 3): token responses had no Cache-Control."""
    response = obtain()
    assert "no-store" in response["Cache-Control"]
    assert "no-store" in refresh(response.json()["refresh"])["Cache-Control"]
    sign_in(browser, "alice")
    assert "no-store" in browser.get("/accounts/sessions/")["Cache-Control"]


# --- G. Admin, storage of secrets ---------------------------------------------------------


def test_r43_admin_is_for_active_staff_only(user: Any) -> None:
    assert Client().get("/admin/").status_code == 302
    client = Client()
    client.force_login(user)  # not staff
    response = client.get("/admin/accounts/session/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_r44_refresh_tokens_are_stored_as_fingerprints_only(user: Any) -> None:
    """Regression (stock failure 5): the raw refresh token was stored (and shown by the admin)."""
    tokens = obtain().json()
    rotated = refresh(tokens["refresh"]).json()
    stored = list(OutstandingToken.objects.values_list("token", flat=True))
    assert len(stored) == 2
    for raw in (tokens["refresh"], rotated["refresh"]):
        assert raw not in stored
        assert not any(raw in value or value in raw for value in stored)
    assert all(value.startswith("sha256:") and len(value) == 71 for value in stored)


def test_x31_nested_json_is_a_400_on_every_json_endpoint(user: Any) -> None:
    """Regression (stock failure 1): a 2 KB body nested 1000 deep was a 500."""
    access = obtain().json()["access"]
    body = "[" * 1000 + "]" * 1000
    for path in ("/api/token/", "/api/token/refresh/", "/api/token/verify/", "/api/token/blacklist/"):
        response = APIClient().post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code)
    response = APIClient().post(
        "/api/me/sessions/revoke-others/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )
    assert response.status_code == 200  # this view reads no body: nothing to parse, no error


def test_r20_session_cookie_api_calls_need_csrf(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/me/sessions/revoke-others/", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert Session.objects.filter(user=user).exists()


def test_r15_other_users_credentials_are_not_found(user: Any) -> None:
    bob = make_user("bob")
    alice_access = obtain().json()["access"]
    bob_tokens = obtain("bob").json()
    client = Client()
    client.force_login(bob)
    bob_session = Session.objects.get(user=bob)
    for target in (bob_session.public_id, unverified(bob_tokens["refresh"])["sid"], uuid.uuid4()):
        response = APIClient().delete(
            f"/api/me/sessions/{target}/", HTTP_AUTHORIZATION=f"Bearer {alice_access}"
        )
        assert response.status_code == 404
    assert me(bob_tokens["access"]).status_code == 200
    assert client.get("/accounts/sessions/").status_code == 200


def test_r18_password_change_needs_the_current_password(user: Any, browser: Client) -> None:
    sign_in(browser, "alice")
    other = Client()
    sign_in(other, "alice")
    new = "a-brand-new-passphrase-77"
    for old in ("", "wrong-password"):
        response = browser.post(
            "/accounts/password_change/", {"old_password": old, "new_password1": new, "new_password2": new}
        )
        assert response.status_code == 200  # the form again, with an error
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert other.get("/accounts/sessions/").status_code == 200  # other sessions untouched
