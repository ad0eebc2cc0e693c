"""Hostile tokens and bodies: every one gets a JSON 4xx ({detail, code}), never a 5xx.

Malicious tokens are built with PyJWT (or by hand, where PyJWT refuses) against a
real user with a live sign-in, so that only the attacked part makes them invalid.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import global_settings, settings
from rest_framework.test import APIClient

from accounts.models import SignInFamily
from tests.api.conftest import assert_error, claims, forge, pair
from tests.factories import PASSWORD, make_user

pytestmark = [
    pytest.mark.django_db,
    # The HS512/HS384 cases sign with our 54-byte key on purpose (the server must refuse them).
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

KEY = settings.SIMPLE_JWT["SIGNING_KEY"]
ATTACKER_KEY = "an-attackers-own-hmac-key-0123456789abcdef"


@dataclass
class Ctx:
    """What a case may build on: a signed-in user's genuine tokens and claims."""

    user_id: str
    sid: str
    access: str
    refresh: str
    rotated: str  # a refresh token already exchanged


def b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: dict[str, Any], digest: Any = hashlib.sha256) -> str:
    """Sign with the real key whatever the header claims (PyJWT refuses such mismatches)."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = hmac.new(KEY.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def good_claims(ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    return {**claims(ctx.access), **overrides}


def unsigned(ctx: Ctx, alg: str) -> str:
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(good_claims(ctx, user_id='1'))}."


def tampered(ctx: Ctx) -> str:
    header, _, signature = ctx.access.split(".")
    return f"{header}.{b64(good_claims(ctx, user_id='999'))}.{signature}"


def signed(ctx: Ctx, drop: tuple[str, ...] = (), **overrides: Any) -> str:
    """A token signed with the right key and algorithm, claims changed as told."""
    return forge(good_claims(ctx, **overrides), drop=drop)


NOW = int(time.time())
FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"
HUGE_NUMBER_HEADER = b'{"alg": ' + b"9" * 5000 + b"}"

# Bearer tokens for GET /api/me/ (expected: 401).
BEARER_CASES: dict[str, Callable[[Ctx], str]] = {
    "bad-base64": lambda c: "!!!.@@@.###",
    "two-segments": lambda c: ".".join(c.access.split(".")[:2]),
    "four-segments": lambda c: c.access + ".x",
    "five-segments-jwe-shape": lambda c: "a.b.c.d.e",
    "empty-segments": lambda c: "..",
    "alg-none": lambda c: unsigned(c, "none"),
    "alg-None": lambda c: unsigned(c, "None"),
    "alg-NONE": lambda c: unsigned(c, "NONE"),
    "signature-stripped": lambda c: c.access.rsplit(".", 1)[0] + ".",
    "tampered-payload-original-signature": tampered,
    "signed-with-another-key": lambda c: forge(good_claims(c), key=ATTACKER_KEY),
    "signed-with-secret-key": lambda c: forge(good_claims(c), key=settings.SECRET_KEY),
    "rs256-header-hmac-signature": lambda c: hand_signed({"alg": "RS256", "typ": "JWT"}, good_claims(c)),
    "rs256-header-random-signature": lambda c: (
        f"{b64({'alg': 'RS256'})}.{b64(good_claims(c))}.{b64(b'x' * 256)}"
    ),
    "hs512-right-key": lambda c: forge(good_claims(c), algorithm="HS512"),
    "hs384-right-key": lambda c: forge(good_claims(c), algorithm="HS384"),
    "refresh-token-as-bearer": lambda c: c.refresh,
    "sliding-token-type": lambda c: signed(c, token_type="sliding"),
    "expired": lambda c: signed(c, exp=NOW - 10, iat=NOW - 400),
    "nbf-in-future": lambda c: signed(c, nbf=NOW + 3600),
    "iat-in-future": lambda c: signed(c, iat=NOW + 3600, exp=NOW + 3900),
    "missing-exp": lambda c: signed(c, drop=("exp",)),
    "missing-jti": lambda c: signed(c, drop=("jti",)),
    "missing-token-type": lambda c: signed(c, drop=("token_type",)),
    "missing-sid": lambda c: signed(c, drop=("sid",)),
    "missing-user-id": lambda c: signed(c, drop=("user_id",)),
    "missing-iat": lambda c: signed(c, drop=("iat",)),
    "exp-as-string": lambda c: signed(c, exp=str(NOW + 300)),
    "exp-as-float-string": lambda c: signed(c, exp="9999999999.5"),
    "user-id-as-object": lambda c: signed(c, user_id={"$gt": ""}),
    "user-id-as-list": lambda c: signed(c, user_id=[1]),
    "user-id-as-bool": lambda c: signed(c, user_id=True),
    "sid-not-a-uuid": lambda c: signed(c, sid="not-a-uuid"),
    "sid-as-object": lambda c: signed(c, sid={"a": 1}),
    "jti-as-number": lambda c: signed(c, jti=12345),
    "crit-unknown-extension": lambda c: forge(
        good_claims(c), headers={"crit": ["x-unknown"], "x-unknown": 1}
    ),
    "jku-and-kid-injection": lambda c: forge(
        good_claims(c),
        key=ATTACKER_KEY,
        headers={"jku": "http://127.0.0.1:9/keys", "kid": "../../etc/passwd' OR 1=1--"},
    ),
    "100kb-token": lambda c: c.access + "A" * 100_000,
    "100kb-claim-wrong-key": lambda c: forge(good_claims(c, pad="x" * 100_000), key=ATTACKER_KEY),
    "unicode-token": lambda c: "é.ü.ß",
    "nul-byte-in-token": lambda c: c.access[:20] + "\x00" + c.access[20:],
    "json-bomb-header": lambda c: f"{b64(b'[' * 50_000 + b']' * 50_000)}.{b64(good_claims(c))}.sig",
    "huge-number-in-header": lambda c: f"{b64(HUGE_NUMBER_HEADER)}.{b64(good_claims(c))}.x",
}

HEADER_CASES: dict[str, Callable[[Ctx], str]] = {
    "no-token": lambda c: "Bearer",
    "three-parts": lambda c: "Bearer a b",
    "lowercase-scheme": lambda c: f"bearer {c.access}",
    "basic-auth": lambda c: "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(),
    "token-scheme": lambda c: f"Token {c.access}",
}


@pytest.fixture
def ctx(user: Any) -> Ctx:
    client = APIClient()
    tokens = pair(client)
    rotated = tokens["refresh"]
    tokens = client.post("/api/token/refresh/", {"refresh": rotated}, format="json").json()
    assert tokens["refresh"]
    return Ctx(str(user.pk), claims(tokens["access"])["sid"], tokens["access"], tokens["refresh"], rotated)


@pytest.fixture
def hostile() -> APIClient:
    return APIClient(raise_request_exception=False)


def assert_safe(response: Any, statuses: tuple[int, ...]) -> dict[str, Any]:
    assert response.status_code < 500, response.content[:300]
    assert b"Traceback" not in response.content
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    return assert_error(response, response.status_code)


@pytest.mark.parametrize("build", BEARER_CASES.values(), ids=BEARER_CASES.keys())
def test_hostile_bearer_token(hostile: APIClient, ctx: Ctx, build: Callable[[Ctx], str]) -> None:
    token = build(ctx)
    assert_safe(hostile.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}"), (401,))
    # The same token at the verify endpoint: 400 if it is too long for the field, else 401.
    # (A refresh token is a valid thing to verify, so that case stops at the Bearer check.)
    if "\x00" not in token and token != ctx.refresh:
        assert_safe(hostile.post("/api/token/verify/", {"token": token}, format="json"), (400, 401))
    # The genuine sign-in is unharmed by the attempt.
    assert hostile.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {ctx.access}").status_code == 200


@pytest.mark.parametrize("build", HEADER_CASES.values(), ids=HEADER_CASES.keys())
def test_hostile_authorization_header(hostile: APIClient, ctx: Ctx, build: Callable[[Ctx], str]) -> None:
    assert_safe(hostile.get("/api/me/", HTTP_AUTHORIZATION=build(ctx)), (401,))


def test_control_the_genuine_token_passes(hostile: APIClient, ctx: Ctx) -> None:
    """The cases above fail for what they change: the same construction untouched works."""
    assert hostile.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {signed(ctx)}").status_code == 200
    assert hostile.post("/api/token/verify/", {"token": signed(ctx)}, format="json").status_code == 200


# Bodies for the token endpoints: (path, raw body or JSON-able value, content type, allowed statuses).
BODY_CASES: dict[str, tuple[str, Any, str, tuple[int, ...]]] = {
    "refresh-json-array": ("/api/token/refresh/", "[]", "application/json", (400,)),
    "refresh-json-string": ("/api/token/refresh/", '"eyJ.a.b"', "application/json", (400,)),
    "refresh-json-number": ("/api/token/refresh/", "42", "application/json", (400,)),
    "refresh-json-null": ("/api/token/refresh/", "null", "application/json", (400,)),
    "refresh-missing-field": ("/api/token/refresh/", "{}", "application/json", (400,)),
    "refresh-null-field": ("/api/token/refresh/", '{"refresh": null}', "application/json", (400,)),
    "refresh-list-field": ("/api/token/refresh/", '{"refresh": ["a"]}', "application/json", (400,)),
    "refresh-object-field": ("/api/token/refresh/", '{"refresh": {"a": 1}}', "application/json", (400,)),
    "refresh-number-field": ("/api/token/refresh/", '{"refresh": 12345}', "application/json", (401,)),
    "refresh-empty-string": ("/api/token/refresh/", '{"refresh": ""}', "application/json", (400,)),
    "refresh-nested-2000": ("/api/token/refresh/", "[" * 2000 + "]" * 2000, "application/json", (400,)),
    "refresh-nested-object-2000": (
        "/api/token/refresh/",
        '{"refresh": ' + '{"a": ' * 2000 + "1" + "}" * 2001,
        "application/json",
        (400,),
    ),
    "refresh-malformed-json": ("/api/token/refresh/", "{not json", "application/json", (400,)),
    "refresh-truncated-json": ("/api/token/refresh/", '{"refresh": "abc', "application/json", (400,)),
    "refresh-text-plain": ("/api/token/refresh/", "refresh=abc", "text/plain", (415,)),
    "refresh-xml": ("/api/token/refresh/", "<refresh>a</refresh>", "application/xml", (415,)),
    "refresh-form-encoded": (
        "/api/token/refresh/",
        "refresh=abc",
        "application/x-www-form-urlencoded",
        (415,),
    ),
    "refresh-nul-byte": ("/api/token/refresh/", '{"refresh": "a\\u0000b"}', "application/json", (400,)),
    "refresh-unicode": ("/api/token/refresh/", '{"refresh": "é.ü.ß"}', "application/json", (401,)),
    "refresh-100kb": (
        "/api/token/refresh/",
        json.dumps({"refresh": "a" * 100_000}),
        "application/json",
        (400,),
    ),
    "refresh-invalid-utf8": ("/api/token/refresh/", b'{"refresh": "\xff\xfe"}', "application/json", (400,)),
    "verify-json-array": ("/api/token/verify/", "[1, 2]", "application/json", (400,)),
    "verify-missing-field": ("/api/token/verify/", '{"refresh": "x"}', "application/json", (400,)),
    "verify-nested-2000": ("/api/token/verify/", "[" * 2000 + "]" * 2000, "application/json", (400,)),
    "blacklist-json-string": ("/api/token/blacklist/", '"x"', "application/json", (400,)),
    "blacklist-null-field": ("/api/token/blacklist/", '{"refresh": null}', "application/json", (400,)),
    "blacklist-garbage-token": ("/api/token/blacklist/", '{"refresh": "a.b.c"}', "application/json", (401,)),
    "obtain-json-array": ("/api/token/", '["alice", "pw"]', "application/json", (400,)),
    "obtain-json-string": ("/api/token/", '"alice"', "application/json", (400,)),
    "obtain-json-number": ("/api/token/", "7", "application/json", (400,)),
    "obtain-missing-password": ("/api/token/", '{"username": "alice"}', "application/json", (400,)),
    "obtain-null-fields": ("/api/token/", '{"username": null, "password": null}', "application/json", (400,)),
    "obtain-username-list": (
        "/api/token/",
        '{"username": ["alice"], "password": "x"}',
        "application/json",
        (400,),
    ),
    "obtain-username-object": (
        "/api/token/",
        '{"username": {"$ne": ""}, "password": "x"}',
        "application/json",
        (400,),
    ),
    "obtain-password-object": (
        "/api/token/",
        '{"username": "alice", "password": {}}',
        "application/json",
        (400,),
    ),
    "obtain-nul-in-username": (
        "/api/token/",
        '{"username": "ali\\u0000ce", "password": "x"}',
        "application/json",
        (400,),
    ),
    "obtain-sql-metacharacters": (
        "/api/token/",
        json.dumps({"username": "' OR 1=1--", "password": "' OR 1=1--"}),
        "application/json",
        (401,),
    ),
    "obtain-fullwidth-lookalike": (
        "/api/token/",
        json.dumps({"username": FULLWIDTH_ALICE, "password": PASSWORD}),
        "application/json",
        (401,),
    ),
    "obtain-zero-width-suffix": (
        "/api/token/",
        json.dumps({"username": "alice\u200b", "password": PASSWORD}),
        "application/json",
        (401,),
    ),
    "obtain-nested-2000": ("/api/token/", "[" * 2000 + "]" * 2000, "application/json", (400,)),
    "obtain-malformed-json": ("/api/token/", '{"username": ', "application/json", (400,)),
    "obtain-text-plain": ("/api/token/", "username=alice&password=x", "text/plain", (415,)),
    "obtain-5000-char-password": (
        "/api/token/",
        json.dumps({"username": "alice", "password": "p" * 5000}),
        "application/json",
        (401,),
    ),
    "obtain-3mb-body": (
        "/api/token/",
        json.dumps({"username": "alice", "password": "p" * 3_000_000}),
        "application/json",
        (413,),
    ),
}


@pytest.mark.parametrize("case", BODY_CASES.values(), ids=BODY_CASES.keys())
def test_hostile_body(hostile: APIClient, user: Any, case: tuple[str, Any, str, tuple[int, ...]]) -> None:
    path, body, content_type, statuses = case
    assert_safe(hostile.post(path, body, content_type=content_type), statuses)
    assert not SignInFamily.objects.exists()


@pytest.mark.parametrize("which", ["access", "rotated"])
def test_wrong_kind_or_used_token_sent_to_refresh(hostile: APIClient, ctx: Ctx, which: str) -> None:
    token = getattr(ctx, which)
    assert_safe(hostile.post("/api/token/refresh/", {"refresh": token}, format="json"), (401,))


def test_refresh_token_with_another_users_sid(hostile: APIClient, ctx: Ctx, other_user: Any) -> None:
    """A family id lifted from someone else's token does not make a forged refresh token valid."""
    theirs = claims(pair(APIClient(), "bob")["refresh"])
    token = forge({**claims(ctx.refresh), "sid": theirs["sid"]}, user_id=ctx.user_id)
    assert_safe(hostile.post("/api/token/refresh/", {"refresh": token}, format="json"), (401,))


@pytest.mark.parametrize("size", [5_000, 1_000_000])
def test_long_password_is_a_wrong_password(hostile: APIClient, settings: Any, size: int) -> None:
    """With the production hasher: a 1 MB password is a 401 like any wrong one, not a 500 or a 400."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    make_user("dora")
    for username in ("dora", "nobody"):
        response = hostile.post("/api/token/", {"username": username, "password": "p" * size}, format="json")
        assert_safe(response, (401,))
        assert response.json()["code"] == "no_active_account"
    assert (
        hostile.post("/api/token/", {"username": "dora", "password": PASSWORD}, format="json").status_code
        == 200
    )
