"""Property-based hostile input (Hypothesis): mutated tokens, cookies and JSON bodies never cause a 500.

Same invariant as test_hostile_live.py: an expected status, JSON under /api/, no traceback, no secret.
Runs against the Django test client (fast); bodies go well beyond 1 KB.
"""

import json
import os
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from accounts.services import families
from tests.factories import make_user
from tests.security.hostile import assert_safe, b64, claims_like, hs256, raw_token

pytestmark = pytest.mark.django_db

FUZZ = hyp_settings(
    # 150 per property in the embedded pass; the PostgreSQL pass repeats them with fewer, to catch
    # database-specific failures (e.g. NUL in a key) without doubling the time.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "50" if os.environ.get("DATABASE_URL") else "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JWT_KEY = settings.SIMPLE_JWT["SIGNING_KEY"]
SECRETS = [settings.SECRET_KEY, JWT_KEY]
TOKEN_ENDPOINTS = ["/api/token/", "/api/token/refresh/", "/api/token/verify/", "/api/token/blacklist/"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
json_values = st.recursive(
    json_scalars | st.text(min_size=1024, max_size=4096),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=30,
)


@pytest.fixture
def client() -> Client:
    """One client per test: each new Client() re-initialises the middleware (WhiteNoise scans files)."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def tokens(settings: Any) -> dict[str, str]:
    """A real pair; throttles lifted so the fuzzer reaches the code behind them."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"},
    }
    settings.ACCOUNTS = {**getattr(settings, "ACCOUNTS", {}), "LOGIN_THROTTLE_ENABLED": False}
    pair = families.family_start(user=make_user("alice"), ip=None, user_agent="fuzz")
    return {"access": pair.access, "refresh": pair.refresh}


def check(response: Any, path: str, allowed: set[int]) -> None:
    assert_safe(
        response.status_code,
        response.content,
        response.get("Content-Type", ""),
        path=path,
        secrets=SECRETS,
        allowed=allowed,
    )


@st.composite
def mutated(draw: Any, token: str) -> str:
    """A valid token with random edits: byte flips, inserts, deletes, segment shuffles, padding."""
    chars = list(token)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup-segment", "pad"]))
        pos = draw(st.integers(0, max(0, len(chars) - 1)))
        if op == "flip" and chars:
            chars[pos] = draw(st.characters(codec="ascii", exclude_characters="\r\n"))
        elif op == "insert":
            chars.insert(pos, draw(st.sampled_from([".", "=", "A", "_", "-", "\x00", "é", "%"])))
        elif op == "delete" and chars:
            del chars[pos]
        elif op == "dup-segment":
            chars.extend("." + token.split(".")[draw(st.integers(0, 2))])
        else:
            chars.append("=" * draw(st.integers(1, 3)))
    return "".join(chars)


@FUZZ
@given(data=st.data())
def test_mutated_bearer_tokens(client: Client, tokens: dict[str, str], data: Any) -> None:
    raw = data.draw(mutated(tokens["access"]) | mutated(tokens["refresh"]))
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    # 200 only when the edits left the signed content intact (e.g. base64 padding appended).
    check(response, "/api/me/", {200, 400, 401})


@FUZZ
@given(data=st.data())
def test_resigned_claims_of_any_type(client: Client, tokens: dict[str, str], data: Any) -> None:
    """Key-holder fuzz: any claim replaced by any JSON value, correctly signed."""
    claim = data.draw(
        st.sampled_from(["exp", "iat", "nbf", "jti", "user_id", "sid", "token_type", "aud", "iss"])
    )
    value = data.draw(json_values)
    header = data.draw(st.none() | st.dictionaries(st.sampled_from(["kid", "typ", "cty", "x"]), json_scalars))
    # Signed by hand: PyJWT's encoder refuses some of these types before they reach the server.
    head = json.dumps({"alg": "HS256", "typ": "JWT", **(header or {})})
    raw = hs256(raw_token(head, json.dumps(claims_like(tokens["access"], **{claim: value})))[:-1], JWT_KEY)
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    check(response, "/api/me/", {200, 401})
    response = client.post("/api/token/verify/", {"token": raw}, content_type="application/json")
    check(response, "/api/token/verify/", {200, 400, 401})


@FUZZ
@given(path=st.sampled_from(TOKEN_ENDPOINTS), body=json_values)
def test_any_json_body_on_the_token_endpoints(
    client: Client, tokens: dict[str, str], path: str, body: Any
) -> None:
    response = client.post(path, json.dumps(body), content_type="application/json")
    check(response, path, {200, 400, 401, 429})
    if response.status_code == 200:
        assert path != "/api/token/"  # no password was ever right


@FUZZ
@given(
    path=st.sampled_from(TOKEN_ENDPOINTS),
    field=st.sampled_from(["refresh", "token", "username", "password"]),
    data=st.data(),
)
def test_mutated_tokens_and_long_strings_in_bodies(
    client: Client, tokens: dict[str, str], path: str, field: str, data: Any
) -> None:
    value = data.draw(
        mutated(tokens["refresh"])
        | st.text(min_size=1024, max_size=20_000)
        | st.binary(min_size=1, max_size=2048).map(b64)
    )
    body = {field: value, "username": "alice", "password": value}
    response = client.post(path, json.dumps(body), content_type="application/json")
    check(response, path, {200, 400, 401, 429})


@FUZZ
@given(
    raw=st.binary(min_size=0, max_size=4096) | st.text(max_size=3000).map(lambda t: ("[" * 800 + t).encode())
)
def test_raw_bytes_as_json(client: Client, tokens: dict[str, str], raw: bytes) -> None:
    response = client.post("/api/token/refresh/", raw, content_type="application/json")
    check(response, "/api/token/refresh/", {400, 401})


cookie_text = st.text(
    st.characters(codec="ascii", exclude_characters=';,\r\n\x00 "\\', min_codepoint=33), max_size=4096
)


@FUZZ
@given(session=cookie_text, csrf=cookie_text, path=st.sampled_from(["/", "/accounts/sessions/", "/api/me/"]))
def test_hostile_cookies(client: Client, tokens: dict[str, str], session: str, csrf: str, path: str) -> None:
    client.cookies.clear()
    page_without_cookies = client.get(path).content
    client.cookies[settings.SESSION_COOKIE_NAME] = session
    client.cookies[settings.CSRF_COOKIE_NAME] = csrf
    response = client.get(path)
    check(response, path, {200, 302, 401, 403})
    if session and len(session) >= 8:
        # Not reflected: it may only appear where the page has it anyway (e.g. "accounts" in a link).
        assert session.encode() not in response.content or session.encode() in page_without_cookies
        assert f"{settings.SESSION_COOKIE_NAME}={session};" not in str(response.cookies)
    response = client.post("/accounts/login/", {"username": "alice", "password": "x"})
    check(response, "/accounts/login/", {403})
