"""RFC 7662 introspection at POST /api/token/introspect/, for services holding a client id and secret."""

import base64
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
from django.conf import global_settings, settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import revocation
from tests.api.conftest import assert_error, assert_no_store, claims, forge, pair, refresh
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import PASSWORD, make_user
from tests.revocation.live_http import BOUND, call, obtain, together, two_servers

URL = "/api/token/introspect/"
CLIENT_ID = "orders-service"
SECRET = "s3cret+with:odd/chars=and-enough-length-0123456789"
INACTIVE = {"active": False}

pytestmark = pytest.mark.django_db


def basic(client_id: str = CLIENT_ID, secret: str = SECRET) -> str:
    """The Authorization header value of RFC 6749 section 2.3.1 (form-encode, then base64)."""
    pair_ = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair_.encode()).decode()


def introspect(client: Any, token: str, hint: str | None = None, auth: str | None = "default") -> Any:
    body = {"token": token} | ({"token_type_hint": hint} if hint is not None else {})
    headers = {} if auth is None else {"HTTP_AUTHORIZATION": basic() if auth == "default" else auth}
    return client.post(URL, body, format="json", **headers)


def answer(client: Any, token: str, hint: str | None = None, auth: str = "default") -> dict[str, Any]:
    response = introspect(client, token, hint, auth=auth)
    assert response.status_code == 200, response.content[:300]
    assert_no_store(response)
    return response.json()


@pytest.fixture(autouse=True)
def _clients(settings: Any) -> None:
    settings.TOKEN_INTROSPECTION_CLIENTS = {CLIENT_ID: SECRET, "other-service": "x" * 40}


class TestServiceAuthentication:
    def assert_invalid_client(self, response: Any) -> None:
        assert_error(response, 401, "invalid_client")
        assert response["WWW-Authenticate"] == 'Basic realm="introspection"'
        assert_no_store(response)
        assert "active" not in response.json()

    @pytest.mark.parametrize(
        "auth",
        [
            None,
            basic(secret=SECRET + "x"),
            basic(secret=SECRET[:-1]),
            basic(secret=""),
            basic(client_id="unknown-service"),
            basic(client_id="other-service"),  # another client's id with this secret
            basic(client_id=CLIENT_ID.upper()),
            "Basic " + base64.b64encode(f"{CLIENT_ID}{SECRET}".encode()).decode(),  # no colon
            "Basic not-base64!!",
            "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
            "Basic",
            f"Bearer {SECRET}",
            "Digest username=orders-service",
        ],
        ids=[
            "no-header",
            "secret-longer",
            "secret-shorter",
            "secret-empty",
            "unknown-client",
            "other-clients-id",
            "client-id-case",
            "no-colon",
            "not-base64",
            "not-utf8",
            "scheme-only",
            "bearer-scheme",
            "digest-scheme",
        ],
    )
    def test_missing_or_wrong_credentials_get_401(self, api: APIClient, user: Any, auth: str | None) -> None:
        tokens = pair(api)
        self.assert_invalid_client(introspect(api, tokens["access"], auth=auth))

    def test_a_users_credentials_are_not_a_service_credential(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        self.assert_invalid_client(introspect(api, tokens["access"], auth=f"Bearer {tokens['access']}"))
        self.assert_invalid_client(introspect(api, tokens["access"], auth=basic("alice", PASSWORD)))
        browser = Client(HTTP_USER_AGENT=BROWSER_UA)
        sign_in(browser, "alice")
        response = browser.post(URL, json.dumps({"token": tokens["access"]}), content_type="application/json")
        self.assert_invalid_client(response)

    def test_no_clients_configured_refuses_everyone(self, api: APIClient, user: Any, settings: Any) -> None:
        tokens = pair(api)
        assert answer(api, tokens["access"])["active"] is True
        settings.TOKEN_INTROSPECTION_CLIENTS = {}
        self.assert_invalid_client(introspect(api, tokens["access"]))

    def test_credentials_not_form_encoded_work_too(self, api: APIClient, user: Any) -> None:
        """What curl -u and most HTTP libraries send: id and secret as they are, not form-encoded."""
        tokens = pair(api)
        raw = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        assert quote_plus(SECRET) != SECRET
        assert answer(api, tokens["access"], auth=raw)["active"] is True
        assert answer(api, tokens["access"])["active"] is True  # form-encoded, as RFC 6749 has it

    def test_the_second_client_works_with_its_own_secret(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        response = introspect(api, tokens["access"], auth=basic("other-service", "x" * 40))
        assert response.status_code == 200 and response.json()["active"] is True

    def test_not_throttled_like_sign_in(self, api: APIClient, user: Any, settings: Any) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"token": "3/min"},
        }
        tokens = pair(api)  # one of the three sign-in attempts
        for _ in range(10):
            assert answer(api, tokens["access"])["active"] is True
        assert pair(api) and pair(api)
        assert_error(api.post("/api/token/", {"username": "alice", "password": PASSWORD}, format="json"), 429)


class TestActiveTokens:
    def test_an_access_token(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        c = claims(tokens["access"])
        assert answer(api, tokens["access"]) == {
            "active": True,
            "token_type": "access_token",
            "sub": str(user.pk),
            "username": "alice",
            "exp": c["exp"],
            "iat": c["iat"],
            "jti": c["jti"],
            "sid": c["sid"],
            "iss": settings.SIMPLE_JWT["ISSUER"],
            "aud": settings.SIMPLE_JWT["AUDIENCE"],
        }

    def test_a_refresh_token(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        c = claims(tokens["refresh"])
        got = answer(api, tokens["refresh"])
        assert got["active"] is True and got["token_type"] == "refresh_token"
        assert (got["sub"], got["username"], got["jti"], got["sid"]) == (
            str(user.pk),
            "alice",
            c["jti"],
            c["sid"],
        )
        assert (got["exp"], got["iat"]) == (c["exp"], c["iat"])
        assert got["sid"] == claims(tokens["access"])["sid"]

    @pytest.mark.parametrize(
        ("which", "hint", "token_type"),
        [
            ("access", "refresh_token", "access_token"),
            ("refresh", "access_token", "refresh_token"),
            ("refresh", "id_token", "refresh_token"),
            ("access", "", "access_token"),
        ],
    )
    def test_the_hint_never_hides_a_token(
        self, api: APIClient, user: Any, which: str, hint: str, token_type: str
    ) -> None:
        tokens = pair(api)
        assert answer(api, tokens[which], hint)["token_type"] == token_type

    def test_form_encoded_body(self, api: APIClient, user: Any) -> None:
        """RFC 7662 section 2.1: the request is application/x-www-form-urlencoded."""
        tokens = pair(api)
        response = api.post(
            URL,
            urlencode({"token": tokens["refresh"], "token_type_hint": "refresh_token"}),
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic(),
        )
        assert response.status_code == 200
        assert response.json()["token_type"] == "refresh_token"

    def test_the_newest_pair_after_a_refresh(self, api: APIClient, user: Any) -> None:
        newer = refresh(api, pair(api)["refresh"]).json()
        assert answer(api, newer["access"])["active"] is True
        assert answer(api, newer["refresh"])["active"] is True


class TestInactiveTokens:
    """Everything a resource server must refuse gets exactly {"active": false}, nothing more."""

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "a.b.c",
            forge(key="an-attackers-own-hmac-key-0123456789abcdef"),
            forge(),  # well signed, but no such sign-in
            forge({"token_type": "refresh"}),
            forge({"token_type": "sliding"}),
        ],
        ids=["word", "three-dots", "wrong-key", "unknown-sign-in", "unknown-refresh", "other-type"],
    )
    def test_invalid(self, api: APIClient, user: Any, token: str) -> None:
        assert answer(api, token) == INACTIVE

    def test_a_forged_copy_of_a_live_token(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        forged = forge(claims(tokens["access"]), key="an-attackers-own-hmac-key-0123456789abcdef")
        assert answer(api, forged) == INACTIVE
        assert answer(api, tokens["access"])["active"] is True

    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_signed_out(self, api: APIClient, user: Any, which: str) -> None:
        tokens, other = pair(api), pair(api)
        assert (
            api.post("/api/token/blacklist/", {"refresh": tokens["refresh"]}, format="json").status_code
            == 200
        )
        assert answer(api, tokens[which]) == INACTIVE
        assert answer(api, other[which])["active"] is True

    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_revoked_through_rfc_7009(self, api: APIClient, user: Any, which: str) -> None:
        tokens, caller = pair(api), pair(api)
        response = api.post(
            "/api/token/revoke/",
            {"token": tokens[which]},
            format="json",
            HTTP_AUTHORIZATION=f"Bearer {caller['access']}",
        )
        assert response.status_code == 200
        assert answer(api, tokens["access"]) == INACTIVE
        assert answer(api, tokens["refresh"]) == INACTIVE

    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_signed_out_everywhere(self, api: APIClient, user: Any, other_user: Any, which: str) -> None:
        mine, theirs = pair(api), pair(api, "bob")
        revocation.user_sign_out_everywhere(user=user, reason="test")
        assert answer(api, mine[which]) == INACTIVE
        assert answer(api, theirs[which])["active"] is True

    @pytest.mark.parametrize(
        ("which", "later"), [("access", timedelta(minutes=6)), ("refresh", timedelta(days=2))]
    )
    def test_expired(
        self, api: APIClient, user: Any, time_machine: Any, which: str, later: timedelta
    ) -> None:
        tokens = pair(api)
        assert answer(api, tokens[which])["active"] is True
        time_machine.move_to(timezone.now() + later, tick=False)
        assert answer(api, tokens[which]) == INACTIVE

    def test_a_used_refresh_token(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        newer = refresh(api, tokens["refresh"]).json()
        assert answer(api, tokens["refresh"]) == INACTIVE
        # Introspecting it is not a reuse: the newer pair lives on.
        assert answer(api, newer["refresh"])["active"] is True
        assert answer(api, tokens["access"])["active"] is True  # the older access token, until it expires

    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_an_inactive_user(self, api: APIClient, user: Any, which: str) -> None:
        tokens = pair(api)
        type(user).objects.filter(pk=user.pk).update(is_active=False)  # no signal, so nothing revoked
        assert answer(api, tokens[which]) == INACTIVE

    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_a_deleted_user(self, api: APIClient, which: str) -> None:
        gone = make_user("carol")
        tokens = pair(api, "carol")
        gone.delete()
        assert answer(api, tokens[which]) == INACTIVE


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{}", "application/json", 400),
        ('{"token": ""}', "application/json", 400),
        ("[" * 2000 + "]" * 2000, "application/json", 400),
        ("token=a&token=b", "application/x-www-form-urlencoded", 400),
        ("token=%FF", "application/x-www-form-urlencoded", 400),
        ("token=" + "a" * 3_000_000, "application/x-www-form-urlencoded", 413),
        ("token=a", "text/plain", 415),
    ],
    ids=["missing", "empty", "nested", "repeated", "not-utf8", "3mb", "text-plain"],
)
def test_hostile_bodies_get_a_json_4xx(content_type: str, body: str, status: int) -> None:
    client = APIClient(raise_request_exception=False)
    assert_error(client.post(URL, body, content_type=content_type, HTTP_AUTHORIZATION=basic()), status)


def test_bodies_are_not_read_before_the_client_is_known() -> None:
    client = APIClient(raise_request_exception=False)
    response = client.post(URL, "[" * 2000, content_type="application/json")
    assert_error(response, 401, "invalid_client")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_revocation_on_one_server_is_seen_by_introspection_on_another(
    tmp_path: Path, settings: Any
) -> None:
    """Two gunicorn servers (2 workers each) sharing PostgreSQL and Redis: revoke through A with
    RFC 7009, then introspect on every worker of B until a deadline: the token is inactive."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # one the servers can check
    make_user("alice")
    env = {"TOKEN_INTROSPECTION_CLIENTS": f"{CLIENT_ID}:{SECRET}"}
    with two_servers(tmp_path, **env) as (a, b):
        victim, caller = obtain(a.url, "alice"), obtain(a.url, "alice")

        def on_b(token: str) -> Any:
            return lambda: call(b.url, "POST", URL, form={"token": token}, headers={"Authorization": basic()})

        for result in together([on_b(victim["access"]), on_b(victim["refresh"])] * 2):
            assert result.status == 200 and result.body["active"] is True, result.body  # B knows them

        revoked = call(
            a.url, "POST", "/api/token/revoke/", token=caller["access"], data={"token": victim["refresh"]}
        )
        assert (revoked.status, revoked.body) == (200, {})
        deadline = time.monotonic() + BOUND
        while True:
            results = together([on_b(victim["access"]), on_b(victim["refresh"])] * 2)
            if all(r.body == INACTIVE for r in results) or time.monotonic() >= deadline:
                break
        assert [(r.status, r.body) for r in results] == [(200, INACTIVE)] * 4
        # The caller's own sign-in is untouched, on both servers.
        for base in (a.url, b.url):
            assert call(base, "GET", "/api/me/", token=caller["access"]).status == 200
        assert call(
            b.url, "POST", URL, form={"token": caller["access"]}, headers={"Authorization": basic()}
        ).body["active"]
