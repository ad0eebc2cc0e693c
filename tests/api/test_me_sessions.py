"""GET /api/me/ and "my sessions" under /api/me/sessions/, with a Bearer token or the site's cookie."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import RevocationEvent, Session, SignInFamily
from tests.api.conftest import API_UA, assert_error, claims, me, pair, refresh
from tests.conftest import BROWSER_UA
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

FIELDS = {"id", "kind", "created", "last_used", "expires", "ip", "user_agent", "device", "current"}


def browser_for(username: str = "alice") -> Client:
    """A browser that signs in through the login form and must send CSRF tokens like a real one."""
    client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=BROWSER_UA)
    client.get("/accounts/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/accounts/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    return client


def csrf(client: Client) -> dict[str, str]:
    return {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value}


def post_json(client: Any, path: str, **headers: str) -> Any:
    """POST an empty JSON object, as a browser script or API client would."""
    return client.post(path, "{}", content_type="application/json", **headers)


def session_of(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def bearer(access: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def listing(client: Any, **headers: str) -> list[dict[str, Any]]:
    response = client.get("/api/me/sessions/", **headers)
    assert response.status_code == 200, response.content[:300]
    return response.json()


class TestMe:
    def test_with_a_bearer_token(self, api: APIClient, user: Any) -> None:
        response = me(api, pair(api)["access"])
        assert response.status_code == 200
        assert response.json() == {"id": user.pk, "username": "alice", "email": "alice@example.com"}

    def test_with_the_site_session_cookie(self, user: Any) -> None:
        response = browser_for().get("/api/me/")
        assert response.status_code == 200
        assert response.json()["username"] == "alice"

    def test_anonymous_gets_a_401_challenge(self, api: APIClient, db: Any) -> None:
        response = api.get("/api/me/")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_session_and_token_name_the_same_user(self, user: Any) -> None:
        browser = browser_for()
        api = APIClient(HTTP_USER_AGENT=API_UA)
        assert browser.get("/api/me/").json() == me(api, pair(api)["access"]).json()

    def test_unsafe_method_with_session_needs_csrf(self, user: Any) -> None:
        browser = browser_for()
        assert_error(post_json(browser, "/api/me/sessions/revoke-others/"), 403, "permission_denied")
        assert post_json(browser, "/api/me/sessions/revoke-others/", **csrf(browser)).status_code == 200

    def test_a_bearer_client_needs_no_csrf(self, api: APIClient, user: Any) -> None:
        client = APIClient(enforce_csrf_checks=True)
        access = pair(api)["access"]
        assert post_json(client, "/api/me/sessions/revoke-others/", **bearer(access)).status_code == 200

    def test_deleted_user_token_is_refused(self, api: APIClient, user: Any) -> None:
        access = pair(api)["access"]
        user.delete()
        assert me(api, access).status_code == 401


class TestSessionList:
    def test_lists_sessions_and_sign_ins_with_every_field(self, user: Any, other_user: Any) -> None:
        browser = browser_for()
        api = APIClient(HTTP_USER_AGENT=API_UA)
        tokens = pair(api)
        pair(api, "bob")
        browser_for("bob")
        items = listing(api, **bearer(tokens["access"]))
        assert len(items) == 2  # bob's credentials are not listed
        for item in items:
            assert set(item) == FIELDS
            assert item["ip"] == "127.0.0.1"
            assert item["created"] and item["last_used"] and item["expires"]
        by_kind = {i["kind"]: i for i in items}
        assert by_kind["session"]["id"] == str(session_of(browser).public_id)
        assert by_kind["session"]["user_agent"] == BROWSER_UA
        assert by_kind["session"]["device"] == "Firefox 121 on Linux"
        assert by_kind["token"]["id"] == claims(tokens["access"])["sid"]
        assert by_kind["token"]["user_agent"] == API_UA
        assert by_kind["token"]["expires"] > by_kind["token"]["created"]

    def test_current_is_the_family_for_a_bearer_client(self, user: Any) -> None:
        browser_for()
        api = APIClient(HTTP_USER_AGENT=API_UA)
        mine, _ = pair(api), pair(api)
        items = listing(api, **bearer(mine["access"]))
        current = [i for i in items if i["current"]]
        assert [(i["kind"], i["id"]) for i in current] == [("token", claims(mine["access"])["sid"])]
        assert len(items) == 3

    def test_current_is_the_session_for_a_cookie_client(self, user: Any) -> None:
        browser, _other = browser_for(), browser_for()
        pair(APIClient())
        items = listing(browser)
        assert [(i["kind"], i["id"]) for i in items if i["current"]] == [
            ("session", str(session_of(browser).public_id))
        ]
        assert len(items) == 3

    def test_session_id_is_never_the_secret_session_key(self, user: Any) -> None:
        browser = browser_for()
        body = browser.get("/api/me/sessions/").content.decode()
        assert session_of(browser).session_key not in body

    def test_revoked_and_expired_ones_drop_off(self, user: Any) -> None:
        browser, stale_browser = browser_for(), browser_for()
        api = APIClient()
        revoked, stale, alive = pair(api), pair(api), pair(api)
        refresh(api, revoked["refresh"])
        refresh(api, revoked["refresh"])  # reuse: this family is revoked
        SignInFamily.objects.filter(pk=claims(stale["refresh"])["sid"]).update(
            refresh_expires_at=timezone.now() - timedelta(seconds=1)
        )
        Session.objects.filter(pk=session_of(stale_browser).pk).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        ids = {i["id"] for i in listing(browser)}
        assert ids == {str(session_of(browser).public_id), claims(alive["access"])["sid"]}

    def test_requires_authentication(self, api: APIClient, db: Any) -> None:
        assert_error(api.get("/api/me/sessions/"), 401, "not_authenticated")


class TestSessionRevoke:
    def test_another_users_id_is_404_and_leaves_it_alone(self, user: Any, other_user: Any) -> None:
        api = APIClient()
        mine = pair(api)
        theirs = pair(api, "bob")
        bob_browser = browser_for("bob")
        for victim in (claims(theirs["access"])["sid"], str(session_of(bob_browser).public_id)):
            response = api.delete(f"/api/me/sessions/{victim}/", **bearer(mine["access"]))
            assert_error(response, 404, "not_found")
        assert me(api, theirs["access"]).status_code == 200
        assert bob_browser.get("/api/me/").status_code == 200
        assert not RevocationEvent.objects.exists()

    @pytest.mark.parametrize(
        "path",
        [
            "/api/me/sessions/00000000-0000-0000-0000-000000000000/",
            "/api/me/sessions/not-a-uuid/",
            "/api/me/sessions/1/",
            "/api/nothing-here/",
        ],
    )
    def test_unknown_ids_and_paths_are_404_json(self, api: APIClient, user: Any, path: str) -> None:
        assert_error(api.delete(path, **bearer(pair(api)["access"])), 404, "not_found")

    def test_own_family_is_revoked_and_its_tokens_stop_working(self, user: Any) -> None:
        api = APIClient()
        caller, victim = pair(api), pair(api)
        sid = claims(victim["access"])["sid"]
        response = api.delete(f"/api/me/sessions/{sid}/", **bearer(caller["access"]))
        assert response.status_code == 204 and response.content == b""
        assert_error(me(api, victim["access"]), 401, "token_revoked")
        assert_error(refresh(api, victim["refresh"]), 401)
        assert me(api, caller["access"]).status_code == 200
        event = RevocationEvent.objects.get(target=sid)
        assert (event.action, event.actor_id, event.ip) == ("family", user.pk, "127.0.0.1")

    def test_own_current_family_can_be_revoked(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        sid = claims(tokens["access"])["sid"]
        assert api.delete(f"/api/me/sessions/{sid}/", **bearer(tokens["access"])).status_code == 204
        assert_error(me(api, tokens["access"]), 401, "token_revoked")

    def test_own_session_revoked_from_a_token_client_goes_anonymous(self, user: Any) -> None:
        browser = browser_for()
        api = APIClient()
        public_id = session_of(browser).public_id
        assert api.delete(f"/api/me/sessions/{public_id}/", **bearer(pair(api)["access"])).status_code == 204
        assert_error(browser.get("/api/me/"), 401, "not_authenticated")
        assert b"You are not signed in." in browser.get("/").content

    def test_own_current_session_revoked_with_the_cookie(self, user: Any) -> None:
        browser, other = browser_for(), browser_for()
        public_id = session_of(browser).public_id
        response = browser.delete(f"/api/me/sessions/{public_id}/", **csrf(browser))
        assert response.status_code == 204
        assert_error(browser.get("/api/me/"), 401, "not_authenticated")
        assert other.get("/api/me/").status_code == 200

    def test_delete_with_the_cookie_needs_csrf(self, user: Any) -> None:
        browser, other = browser_for(), browser_for()
        public_id = session_of(other).public_id
        assert_error(browser.delete(f"/api/me/sessions/{public_id}/"), 403)
        assert other.get("/api/me/").status_code == 200


class TestRevokeOthers:
    def test_from_a_token_keeps_only_that_family(self, user: Any, other_user: Any) -> None:
        browser, bob = browser_for(), browser_for("bob")
        api = APIClient()
        keep, drop = pair(api), pair(api)
        response = post_json(api, "/api/me/sessions/revoke-others/", **bearer(keep["access"]))
        assert response.status_code == 200 and response.json() == {"revoked": 2}
        assert me(api, keep["access"]).status_code == 200
        assert refresh(api, keep["refresh"]).status_code == 200
        assert_error(me(api, drop["access"]), 401, "token_revoked")
        assert_error(browser.get("/api/me/"), 401)
        assert bob.get("/api/me/").status_code == 200
        assert RevocationEvent.objects.get().action == "others"

    def test_from_the_cookie_keeps_only_that_session(self, user: Any) -> None:
        browser, other = browser_for(), browser_for()
        api = APIClient()
        tokens = pair(api)
        response = post_json(browser, "/api/me/sessions/revoke-others/", **csrf(browser))
        assert response.status_code == 200 and response.json() == {"revoked": 2}
        assert browser.get("/api/me/").status_code == 200
        assert_error(other.get("/api/me/"), 401)
        assert_error(me(api, tokens["access"]), 401, "token_revoked")
        assert [i["kind"] for i in listing(browser)] == ["session"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/me/"),
        ("get", "/api/me/sessions/"),
        ("post", "/api/me/sessions/revoke-others/"),
        ("delete", "/api/me/sessions/00000000-0000-0000-0000-000000000000/"),
    ],
)
def test_tokens_of_a_deleted_user_are_refused(user: Any, method: str, path: str) -> None:
    api = APIClient(raise_request_exception=False)
    access = pair(api)["access"]
    user.delete()
    response = getattr(api, method)(path, **bearer(access))
    assert_error(response, 401)
