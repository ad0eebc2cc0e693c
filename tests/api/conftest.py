"""API test helpers: sign in over HTTP, build tokens by hand with PyJWT."""

import time
import uuid
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import PASSWORD

API_UA = "authproject-tests/1.0 (python)"


def obtain(client: APIClient, username: str = "alice", password: str = PASSWORD) -> Any:
    """POST /api/token/ and return the response."""
    return client.post("/api/token/", {"username": username, "password": password}, format="json")


def pair(client: APIClient, username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API and return {access, refresh}."""
    response = obtain(client, username, password)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def refresh(client: APIClient, token: str) -> Any:
    return client.post("/api/token/refresh/", {"refresh": token}, format="json")


def verify(client: APIClient, token: str) -> Any:
    return client.post("/api/token/verify/", {"token": token}, format="json")


def me(client: APIClient, access: str) -> Any:
    return client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def claims(raw: str) -> dict[str, Any]:
    """Decode a token without checking it (to read what the server put in)."""
    return jwt.decode(raw, options={"verify_signature": False})


def forge(
    overrides: dict[str, Any] | None = None,
    *,
    drop: tuple[str, ...] = (),
    key: str | None = None,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    user_id: Any = "1",
) -> str:
    """Return a token signed by PyJWT directly (the right key unless told otherwise)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": user_id,
        "sid": str(uuid.uuid4()),
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
    }
    payload.update(overrides or {})
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(
        payload, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm, headers=headers
    )


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert a DRF-style JSON error {detail, code} with this status."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"]
    assert isinstance(body.get("code"), str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_no_store(response: Any) -> None:
    """Assert the response may not be stored by any cache (RFC 6749 section 5.1)."""
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert "no-store" in directives, response["Cache-Control"]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Hash test passwords cheaply; the hostile-input tests switch the real hasher back on."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api() -> APIClient:
    return APIClient(HTTP_USER_AGENT=API_UA)
