"""Shared fixtures: users, clients, and a clean revocation state per test."""

import os
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from accounts import authentication
from accounts.services.revocation_state import state
from tests.factories import PASSWORD, make_user

SERVICES = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if SERVICES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL + Redis: runs in make test's second pass")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Any:
    """Each test starts with no cached verified tokens, no revocation snapshot, an empty cache."""
    authentication._verified.clear()
    state.invalidate()
    for alias in caches:
        caches[alias].clear()
    yield
    authentication._verified.clear()
    state.invalidate()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db: Any) -> Any:
    return make_user("alice")


@pytest.fixture
def other_user(db: Any) -> Any:
    return make_user("bob")


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_USER_AGENT=BROWSER_UA)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def sign_in(client: Client, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form (so the session row records IP and user agent)."""
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:500]
