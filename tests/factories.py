"""Test data: users and their credentials, made through the real code paths."""

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from accounts.services.families import TokenPair, family_start

PASSWORD = "correct-horse-battery-staple-42"
_seq = itertools.count(1)


def make_user(username: str | None = None, *, password: str = PASSWORD, **extra: Any) -> Any:
    name = username or f"user{next(_seq)}"
    extra.setdefault("email", f"{name}@example.com")
    return get_user_model().objects.create_user(username=name, password=password, **extra)


def make_family(user: Any, *, ip: str = "127.0.0.1", user_agent: str = "pytest") -> TokenPair:
    return family_start(user=user, ip=ip, user_agent=user_agent)
