"""Security tests: a fast password hasher, since these tests sign in many times.

The production hasher is asserted separately (test_requirements.py::test_r39_password_hasher).
"""

from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2Hasher(PBKDF2PasswordHasher):
    """Same algorithm name as the project's, so live servers verify these hashes; few iterations."""

    iterations = 1000


@pytest.fixture(autouse=True)
def _fast_hasher(request: Any, settings: Any) -> None:
    if "real_hasher" not in request.keywords:
        settings.PASSWORD_HASHERS = ["tests.security.conftest.FastPBKDF2Hasher"]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "real_hasher: keep the project's password hasher")
