"""Fixtures of the revocation tests."""

from typing import Any

import pytest


@pytest.fixture
def fast_hasher(settings: Any) -> None:
    """A cheap password hasher for in-process tests (never for live servers, which could not check it)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
