"""Settings from the environment: safe production start-up, a clean --deploy check, cookie policy."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = """
import json
from django.conf import settings as s
print(json.dumps({name: str(getattr(s, name)) for name in %r}))
"""


def production_env(**overrides: str) -> dict[str, str]:
    """A clean environment like a production host's: DEBUG off, two strong keys, a host name."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "auth.example.com",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def settings_in(env: dict[str, str], *names: str) -> dict[str, str]:
    result = manage("shell", "-c", PRINT_SETTINGS % (names,), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DJANGO_SECRET_KEY", None), ("JWT_SIGNING_KEY", None), ("DJANGO_SECRET_KEY", "")],
    ids=["secret-key-unset", "jwt-key-unset", "secret-key-empty"],
)
def test_missing_secret_stops_start_up_with_one_line(variable: str, value: str | None) -> None:
    env = production_env(**{variable: value})
    result = manage("check", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_the_two_keys_must_differ() -> None:
    key = secrets.token_urlsafe(48)
    result = manage("check", env=production_env(DJANGO_SECRET_KEY=key, JWT_SIGNING_KEY=key))
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr.strip().splitlines()[-1]


def test_deploy_check_is_clean_with_production_variables() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_cookies_are_secure_and_host_prefixed() -> None:
    values = settings_in(
        production_env(),
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SAMESITE",
        "SESSION_COOKIE_DOMAIN",
        "SESSION_COOKIE_PATH",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "DEBUG",
        "SESSION_ENGINE",
    )
    assert values == {
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
        "SESSION_COOKIE_HTTPONLY": "True",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_DOMAIN": "None",  # __Host- cookies must not set Domain
        "SESSION_COOKIE_PATH": "/",
        "SECURE_SSL_REDIRECT": "True",
        "SECURE_HSTS_SECONDS": "31536000",
        "DEBUG": "False",
        "SESSION_ENGINE": "accounts.backends.db",
    }


def test_plain_http_lab_drops_the_host_prefix_with_secure() -> None:
    values = settings_in(
        production_env(DJANGO_SESSION_COOKIE_SECURE="0", DJANGO_CSRF_COOKIE_SECURE="0"),
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
    )
    assert values == {
        "SESSION_COOKIE_NAME": "sessionid",
        "CSRF_COOKIE_NAME": "csrftoken",
        "SESSION_COOKIE_SECURE": "False",
    }


def test_embedded_default_and_real_services() -> None:
    bare = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    names = ("DEBUG", "SESSION_ENGINE", "SESSION_COOKIE_NAME")
    assert settings_in(bare, *names) == {
        "DEBUG": "True",
        "SESSION_ENGINE": "accounts.backends.db",
        "SESSION_COOKIE_NAME": "sessionid",
    }
    services = settings_in(
        {
            **bare,
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere",
            "REDIS_URL": "redis://127.0.0.1:6379/9",
        },
        "SESSION_ENGINE",
    )
    assert services == {"SESSION_ENGINE": "accounts.backends.cached_db"}


def test_session_cookie_flags_on_the_wire(db: Any) -> None:
    from tests.factories import make_user

    make_user("alice")
    response = Client().post(
        "/accounts/login/", {"username": "alice", "password": "correct-horse-battery-staple-42"}
    )
    header = response.cookies[settings.SESSION_COOKIE_NAME].output()
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Domain" not in header


def _variables_in_settings() -> set[str]:
    text = (ROOT / "project" / "settings.py").read_text()
    return set(re.findall(r"""(?:env(?:\.\w+)?|_secret)\(\s*["']([A-Z][A-Z0-9_]+)["']""", text))


def test_every_setting_variable_is_documented() -> None:
    variables = _variables_in_settings()
    assert {"DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG"} <= variables
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    undocumented = sorted(v for v in variables if not re.search(rf"^#?\s*{v}=", example, flags=re.M))
    assert not undocumented, f"add to .env.example: {undocumented}"
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert not missing, f"add to README.md's configuration table: {missing}"
