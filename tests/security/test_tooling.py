"""CI tooling as tests: Django's deploy checks are clean, schemathesis finds no server error."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accounts.services import families
from tests.factories import make_user
from tests.live import ROOT, app_server

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "app.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://app.example.com",
}


def test_check_deploy_is_clean_with_production_variables() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))}
    env.update(PRODUCTION)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_refuses_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))}
    env.update(PRODUCTION)
    del env["JWT_SIGNING_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stdout + result.stderr


@pytest.mark.services
def test_schemathesis_finds_no_server_error(transactional_db: Any, tmp_path: Path) -> None:
    """Generated requests for every operation in /api/schema/, authenticated: never a 5xx."""
    access = families.family_start(user=make_user("alice"), ip=None, user_agent="schemathesis").access
    # Introspection takes only a service's Basic credential: give it one, every other operation the token.
    secret = secrets.token_urlsafe(32)
    service = base64.b64encode(f"schemathesis:{secret}".encode()).decode()
    (tmp_path / "schemathesis.toml").write_text(
        f'headers = {{ Authorization = "Bearer {access}" }}\n\n'
        "[[operations]]\n"
        'include-path = "/api/token/introspect/"\n'
        f'headers = {{ Authorization = "Basic {service}" }}\n'
    )
    env = {"API_TOKEN_THROTTLE_RATE": "100000/min", "TOKEN_INTROSPECTION_CLIENTS": f"schemathesis:{secret}"}
    with app_server(log_dir=tmp_path, **env) as server:
        result = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{server.url}/api/schema/",
                "--checks",
                "not_a_server_error",
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                "10",
                "--seed",
                "6",
                "--workers",
                "2",
                "--request-timeout",
                "20",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    assert " passed" in output and "failed" not in output, output
