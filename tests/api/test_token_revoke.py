"""RFC 7009 revocation at POST /api/token/revoke/: real tokens from POST /api/token/, real sessions."""

import io
import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import RequestDataTooBig
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import RevocationEvent, SignInFamily
from api.parsers import SafeFormParser
from tests.api.conftest import API_UA, assert_error, assert_no_store, claims, forge, me, pair, refresh
from tests.conftest import BROWSER_UA
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

URL = "/api/token/revoke/"
REASON = "revoked through RFC 7009"


def revoke(client: Any, token: str, access: str | None = None, hint: str | None = None, **extra: Any) -> Any:
    """POST a JSON revocation request, as `access`'s holder when given."""
    body = {"token": token} | ({"token_type_hint": hint} if hint is not None else {})
    if access is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {access}"
    return client.post(URL, body, format="json", **extra)


def listed_sign_ins(client: Any, access: str) -> set[str]:
    response = client.get("/api/me/sessions/", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    return {c["id"] for c in response.json() if c["kind"] == "token"}


def assert_signed_out(client: Any, tokens: dict[str, str]) -> None:
    """Both tokens of a revoked sign-in are refused, the access token as `token_revoked`."""
    assert_error(me(client, tokens["access"]), 401, "token_revoked")
    assert_error(refresh(client, tokens["refresh"]), 401, "token_not_valid")


def browser_for(username: str) -> Client:
    """A browser signed in through the login form, sending CSRF tokens only when told."""
    client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=BROWSER_UA)
    client.get("/accounts/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    assert client.post("/accounts/login/", form).status_code == 302
    return client


def csrf_token(client: Client) -> str:
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def staff_with(username: str, *codenames: str) -> Any:
    user = make_user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


class TestOwnTokens:
    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_revoking_one_token_ends_its_whole_sign_in(self, api: APIClient, user: Any, which: str) -> None:
        caller, victim = pair(api), pair(api)
        sid = claims(victim["access"])["sid"]
        assert sid in listed_sign_ins(api, caller["access"])

        response = revoke(api, victim[which], access=caller["access"])

        assert response.status_code == 200 and response.json() == {}
        assert_no_store(response)
        assert_signed_out(api, victim)
        assert sid not in listed_sign_ins(api, caller["access"])
        event = RevocationEvent.objects.get(target=sid)
        assert (event.action, event.actor_id, event.user_id) == ("family", user.pk, user.pk)
        assert (event.reason, event.ip) == (REASON, "127.0.0.1")
        assert SignInFamily.objects.get(pk=sid).revoke_reason == REASON
        assert me(api, caller["access"]).status_code == 200  # the caller's own sign-in goes on

    def test_revoking_the_calling_access_token_signs_the_caller_out(self, api: APIClient, user: Any) -> None:
        tokens = pair(api)
        response = revoke(api, tokens["access"], access=tokens["access"])
        assert response.status_code == 200 and response.json() == {}
        assert_error(me(api, tokens["access"]), 401, "token_revoked")
        assert_error(revoke(api, tokens["refresh"], access=tokens["access"]), 401, "token_revoked")
        assert_error(refresh(api, tokens["refresh"]), 401)

    def test_a_used_refresh_token_still_ends_its_sign_in(self, api: APIClient, user: Any) -> None:
        """As with logout: an old refresh token of a live sign-in is enough to end it."""
        caller = pair(api)
        first = pair(api)
        newer = refresh(api, first["refresh"]).json()
        assert revoke(api, first["refresh"], access=caller["access"]).json() == {}
        assert_signed_out(api, newer)

    @pytest.mark.parametrize(
        ("which", "hint"),
        [
            ("access", "refresh_token"),
            ("refresh", "access_token"),
            ("access", "id_token"),
            ("refresh", ""),
            ("refresh", "x" * 5000),
        ],
    )
    def test_a_wrong_or_unknown_hint_only_changes_the_search_order(
        self, api: APIClient, user: Any, which: str, hint: str
    ) -> None:
        caller, victim = pair(api), pair(api)
        assert revoke(api, victim[which], access=caller["access"], hint=hint).status_code == 200
        assert_signed_out(api, victim)

    def test_form_encoded_body(self, api: APIClient, user: Any) -> None:
        """RFC 7009 section 2.1: the request is application/x-www-form-urlencoded."""
        caller, victim = pair(api), pair(api)
        body = urlencode({"token": victim["refresh"], "token_type_hint": "refresh_token"})
        response = api.post(
            URL,
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Bearer {caller['access']}",
        )
        assert response.status_code == 200 and response.json() == {}
        assert_signed_out(api, victim)


class TestNothingToRevoke:
    """Unknown, malformed, expired or already revoked: 200 `{}` and nothing changes (RFC 7009 2.2)."""

    @pytest.fixture
    def victim(self, api: APIClient, user: Any) -> dict[str, str]:
        return pair(api)

    def assert_nothing_revoked(self, api: APIClient, victim: dict[str, str]) -> None:
        assert not RevocationEvent.objects.exists()
        assert not SignInFamily.objects.filter(revoked_at__isnull=False).exists()
        assert me(api, victim["access"]).status_code == 200
        assert refresh(api, victim["refresh"]).status_code == 200

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "a.b.c",
            "é.ü.ß",
            "12345",
            forge(key="an-attackers-own-hmac-key-0123456789abcdef"),
            forge(),  # well signed, but no such sign-in
            forge({"token_type": "refresh"}),
        ],
        ids=["word", "three-dots", "unicode", "number", "wrong-key", "unknown-sign-in", "unknown-refresh"],
    )
    def test_unknown_or_malformed(self, api: APIClient, victim: dict[str, str], token: str) -> None:
        caller = pair(api)
        response = revoke(api, token, access=caller["access"])
        assert response.status_code == 200 and response.json() == {}
        self.assert_nothing_revoked(api, victim)

    def test_a_forged_token_naming_a_real_sign_in(
        self, api: APIClient, user: Any, victim: dict[str, str]
    ) -> None:
        """Signed with another key, it names the victim's sign-in and user: still nothing."""
        caller = pair(api)
        forged = forge(claims(victim["access"]), key="an-attackers-own-hmac-key-0123456789abcdef")
        assert revoke(api, forged, access=caller["access"]).json() == {}
        self.assert_nothing_revoked(api, victim)

    @pytest.mark.parametrize(
        ("which", "later"), [("access", timedelta(minutes=6)), ("refresh", timedelta(days=2))]
    )
    def test_expired(
        self, api: APIClient, user: Any, time_machine: Any, which: str, later: timedelta
    ) -> None:
        old = pair(api)
        time_machine.move_to(timezone.now() + later, tick=False)
        caller = pair(api)
        response = revoke(api, old[which], access=caller["access"])
        assert response.status_code == 200 and response.json() == {}
        assert not RevocationEvent.objects.exists()
        assert SignInFamily.objects.get(pk=claims(old["access"])["sid"]).revoked_at is None

    def test_already_revoked(self, api: APIClient, user: Any) -> None:
        caller, victim = pair(api), pair(api)
        assert revoke(api, victim["refresh"], access=caller["access"]).json() == {}
        for token in (victim["refresh"], victim["access"]):
            response = revoke(api, token, access=caller["access"])
            assert response.status_code == 200 and response.json() == {}
        assert RevocationEvent.objects.count() == 1


class TestOtherUsersTokens:
    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_a_user_cannot_revoke_someone_elses_token(
        self, api: APIClient, user: Any, other_user: Any, which: str
    ) -> None:
        mine, theirs = pair(api), pair(api, "bob")
        body = assert_error(revoke(api, theirs[which], access=mine["access"]), 403, "permission_denied")
        assert "another user" in body["detail"]
        assert me(api, theirs["access"]).status_code == 200
        assert refresh(api, theirs["refresh"]).status_code == 200
        assert not RevocationEvent.objects.exists()

    def test_someone_elses_dead_token_is_like_any_invalid_token(
        self, api: APIClient, user: Any, other_user: Any
    ) -> None:
        """No oracle: a token /api/token/verify/ already calls invalid gets 200 and changes nothing."""
        mine, theirs = pair(api), pair(api, "bob")
        used = theirs["refresh"]
        theirs = refresh(api, used).json()
        assert revoke(api, used, access=mine["access"]).status_code == 200
        assert me(api, theirs["access"]).status_code == 200
        assert not RevocationEvent.objects.exists()

    @pytest.mark.parametrize("which", ["access", "refresh"])
    def test_staff_with_the_revoke_permission_can(self, api: APIClient, other_user: Any, which: str) -> None:
        staff_with("operator", "revoke_token")
        theirs = pair(api, "bob")
        operator = pair(api, "operator")
        response = revoke(api, theirs[which], access=operator["access"])
        assert response.status_code == 200 and response.json() == {}
        assert_signed_out(api, theirs)
        event = RevocationEvent.objects.get()
        assert (event.actor.username, event.user_id, event.reason) == ("operator", other_user.pk, REASON)

    def test_a_superuser_can(self, api: APIClient, other_user: Any) -> None:
        root = make_user("root", is_staff=True, is_superuser=True)
        theirs = pair(api, "bob")
        assert revoke(api, theirs["access"], access=pair(api, "root")["access"]).status_code == 200
        assert_signed_out(api, theirs)
        assert RevocationEvent.objects.get().actor_id == root.pk

    @pytest.mark.parametrize(
        ("is_staff", "codenames"),
        [(True, []), (True, ["revoke_session"]), (False, ["revoke_token"])],
        ids=["staff-without-permission", "staff-with-session-permission-only", "permission-without-staff"],
    )
    def test_staff_and_the_permission_are_both_needed(
        self, api: APIClient, other_user: Any, is_staff: bool, codenames: list[str]
    ) -> None:
        caller = make_user("carol", is_staff=is_staff)
        caller.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        theirs = pair(api, "bob")
        assert_error(
            revoke(api, theirs["access"], access=pair(api, "carol")["access"]), 403, "permission_denied"
        )
        assert me(api, theirs["access"]).status_code == 200


class TestCallerAuthentication:
    def test_anonymous_caller_gets_401(self, api: APIClient, user: Any) -> None:
        victim = pair(api)
        response = revoke(api, victim["refresh"])
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert_error(revoke(api, victim["refresh"], access="not-a-token"), 401)
        assert me(api, victim["access"]).status_code == 200

    def test_a_deactivated_callers_token_gets_401(self, api: APIClient, user: Any) -> None:
        caller, victim = pair(api), pair(api)
        type(user).objects.filter(pk=user.pk).update(is_active=False)  # no signal: the token lives on
        assert_error(revoke(api, victim["refresh"], access=caller["access"]), 401, "user_not_found")
        assert not RevocationEvent.objects.exists()

    def test_the_sites_session_cookie_with_csrf(self, api: APIClient, user: Any) -> None:
        browser = browser_for("alice")
        victim = pair(api)
        no_csrf = browser.post(URL, {"token": victim["refresh"]}, content_type="application/json")
        body = assert_error(no_csrf, 403, "permission_denied")
        assert "CSRF" in body["detail"]
        assert me(api, victim["access"]).status_code == 200

        response = browser.post(
            URL,
            json.dumps({"token": victim["refresh"]}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=csrf_token(browser),
        )
        assert response.status_code == 200 and response.json() == {}
        assert_signed_out(api, victim)
        assert RevocationEvent.objects.get().actor_id == user.pk
        assert browser.get("/api/me/").status_code == 200  # the browser session is another credential

    def test_a_session_posting_a_form_with_its_csrf_field(self, api: APIClient, user: Any) -> None:
        browser = browser_for("alice")
        victim = pair(api)
        form = urlencode({"token": victim["access"], "csrfmiddlewaretoken": csrf_token(browser)})
        response = browser.post(URL, form, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200 and response.json() == {}
        assert_signed_out(api, victim)

    def test_a_session_cannot_revoke_someone_elses_token(
        self, api: APIClient, user: Any, other_user: Any
    ) -> None:
        browser = browser_for("alice")
        theirs = pair(api, "bob")
        response = browser.post(
            URL,
            json.dumps({"token": theirs["refresh"]}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=csrf_token(browser),
        )
        assert_error(response, 403, "permission_denied")
        assert me(api, theirs["access"]).status_code == 200


class TestRefreshTokenOutsideAnyFamily:
    """A refresh token issued before sign-in families were tracked: blacklisted on its own, audited."""

    def legacy(self, owner: Any) -> tuple[str, OutstandingToken]:
        jti = uuid.uuid4().hex
        raw = forge({"token_type": "refresh", "jti": jti}, drop=("sid",), user_id=str(owner.pk))
        row = OutstandingToken.objects.create(
            user=owner, jti=jti, token="sha256:legacy", expires_at=timezone.now() + timedelta(days=1)
        )
        return raw, row

    def test_its_owner_revokes_it(self, api: APIClient, user: Any) -> None:
        raw, row = self.legacy(user)
        assert revoke(api, raw, access=pair(api)["access"]).json() == {}
        assert BlacklistedToken.objects.filter(token=row).exists()
        event = RevocationEvent.objects.get()
        assert (event.action, event.target, event.actor_id, event.reason) == (
            "token",
            row.jti,
            user.pk,
            REASON,
        )
        assert revoke(api, raw, access=pair(api)["access"]).json() == {}  # again: nothing more
        assert RevocationEvent.objects.count() == 1

    def test_someone_elses_is_left_alone(self, api: APIClient, user: Any, other_user: Any) -> None:
        raw, row = self.legacy(other_user)
        assert revoke(api, raw, access=pair(api)["access"]).status_code == 200  # never usable: no oracle
        assert not BlacklistedToken.objects.filter(token=row).exists()
        assert not RevocationEvent.objects.exists()


# Hostile bodies: (raw body, content type, status). None of them revokes anything.
BODIES: dict[str, tuple[bytes | str, str, int]] = {
    "json-missing-token": ("{}", "application/json", 400),
    "json-empty-token": ('{"token": ""}', "application/json", 400),
    "json-null-token": ('{"token": null}', "application/json", 400),
    "json-list-token": ('{"token": ["a"]}', "application/json", 400),
    "json-nested-2000": ("[" * 2000 + "]" * 2000, "application/json", 400),
    "json-malformed": ('{"token": ', "application/json", 400),
    "json-nul-byte": ('{"token": "a\\u0000b"}', "application/json", 400),
    "json-100kb-token": (json.dumps({"token": "a" * 100_000}), "application/json", 400),
    "form-missing-token": ("token_type_hint=access_token", "application/x-www-form-urlencoded", 400),
    "form-repeated-token": ("token=a&token=b", "application/x-www-form-urlencoded", 400),
    "form-invalid-utf8": (b"token=\xff\xfe", "application/x-www-form-urlencoded", 400),
    "form-invalid-utf8-escaped": ("token=%FF%FE", "application/x-www-form-urlencoded", 400),
    "form-too-many-fields": (
        "&".join(f"f{i}=1" for i in range(1500)),
        "application/x-www-form-urlencoded",
        400,
    ),
    "form-nul-byte": ("token=a%00b", "application/x-www-form-urlencoded", 400),
    "form-3mb": ("token=" + "a" * 3_000_000, "application/x-www-form-urlencoded", 413),
    "text-plain": ("token=abc", "text/plain", 415),
    "multipart": ("--x--", "multipart/form-data; boundary=x", 415),
}


@pytest.mark.parametrize("case", BODIES.values(), ids=BODIES.keys())
def test_hostile_bodies_get_a_json_4xx(user: Any, case: tuple[Any, str, int]) -> None:
    client = APIClient(raise_request_exception=False, HTTP_USER_AGENT=API_UA)
    tokens = pair(client)
    body, content_type, status = case
    response = client.post(
        URL, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"
    )
    assert_error(response, status)
    assert not RevocationEvent.objects.exists()
    assert me(client, tokens["access"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # The CSRF check reads the form through the same parser, before authentication ends.
        ("&".join(f"f{i}=1" for i in range(1500)), 400),
        ("token=" + "a" * 3_000_000, 413),
    ],
    ids=["too-many-fields", "3mb"],
)
def test_hostile_form_bodies_from_a_session(user: Any, body: str, status: int) -> None:
    browser = browser_for("alice")
    browser.raise_request_exception = False
    response = browser.post(URL, body, content_type="application/x-www-form-urlencoded")
    assert_error(response, status)
    assert browser.get("/api/me/").status_code == 200


def test_a_charset_parameter_does_not_change_the_decoding(api: APIClient, user: Any) -> None:
    """RFC 6749 appendix B: form bodies are UTF-8, whatever the Content-Type says."""
    caller, victim = pair(api), pair(api)
    response = api.post(
        URL,
        urlencode({"token": victim["access"]}),
        content_type="application/x-www-form-urlencoded; charset=latin-1",
        HTTP_AUTHORIZATION=f"Bearer {caller['access']}",
    )
    assert response.status_code == 200
    assert_signed_out(api, victim)


def test_the_form_parser_bounds_its_own_read(settings: Any) -> None:
    """Even handed the raw stream, the parser reads no more than the limit (plus one byte)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    assert SafeFormParser().parse(io.BytesIO(b"token=abcd")) == {"token": "abcd"}
    stream = io.BytesIO(b"token=" + b"a" * 1000)
    with pytest.raises(RequestDataTooBig):
        SafeFormParser().parse(stream)
    assert stream.tell() == 11
