"""Security tests: a fast password hasher, since these tests sign in many times.

The production hasher is asserted separately (test_requirements.py::test_r39_password_hasher).
"""

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fast_hasher(request: Any, settings: Any) -> None:
    if "real_hasher" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "real_hasher: keep the project's password hasher")
