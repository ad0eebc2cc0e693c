"""docs/api.md and README's API walk-through work as written: their shell blocks, run in order
against a real app server."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import global_settings

from tests.factories import make_user
from tests.live import app_server

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
README = ROOT / "README.md"
DOC_PASSWORD_LINE = re.compile(r"^PASSWORD='[^']*'$", re.M)
DOC_SERVICE_LINE = re.compile(r"^SERVICE='([^']*)'$", re.M)


def readme_walkthrough() -> str:
    text = README.read_text()
    return text[text.index("### API walk-through with curl") : text.index("## In a browser")]


def doc_script(base_url: str, password: str, text: str | None = None) -> str:
    """The doc's ```sh blocks joined, with only the server address and the password swapped in."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text() if text is None else text, re.S)
    script = "\n".join(blocks)
    assert "API=http://127.0.0.1:8000\n" in script and DOC_PASSWORD_LINE.search(script)
    script = script.replace("API=http://127.0.0.1:8000\n", f"API={base_url}\n")
    return "set -eu\n" + DOC_PASSWORD_LINE.sub(f"PASSWORD='{password}'", script)


@pytest.mark.services
@pytest.mark.skipif(not shutil.which("curl"), reason="the walk-through uses curl")
def test_walkthrough_runs_as_written(transactional_db: Any, tmp_path: Path, settings: Any) -> None:
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # one the server can check
    password = "walkthrough-Pa55word-0123"
    make_user("demo", password=password)
    service = DOC_SERVICE_LINE.search(DOC.read_text())
    assert service, "step 9 sets SERVICE='client-id:secret'"
    with app_server(workers=1, log_dir=tmp_path, TOKEN_INTROSPECTION_CLIENTS=service.group(1)) as server:
        run = subprocess.run(
            ["bash", "-c", doc_script(server.url, password)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    expected_in_order = [
        '{"access":"eyJ',  # 1. sign in
        '"code":"no_active_account"} HTTP 401',  # wrong password
        '"username":"demo","email":"demo@example.com"}',  # 2. /api/me/
        '{"access":"eyJ',  # 3. refresh
        '"code":"token_not_valid"}',  # the used refresh token
        '"kind": "token"',  # 4. sessions
        '"current": true',
        "\n{}\n",  # 5. sign out
        "HTTP/1.1 401 Unauthorized",  # 6. after signing out
        '{"detail":"Token has been revoked.","code":"token_revoked"}',
        '{"detail":"Token is blacklisted","code":"token_not_valid"} HTTP 401',
        '{"detail":"Token is blacklisted","code":"token_not_valid"} HTTP 401',  # 7. reuse
        '{"detail":"Token has been revoked.","code":"token_revoked"} HTTP 401',
        "\n{}\n",  # 8. revoke (RFC 7009)
        '{"detail":"Token has been revoked.","code":"token_revoked"} HTTP 401',
        "\n{}\n",  # an unknown token
        '"active": true,\n    "token_type": "access_token",\n    "sub": "',  # 9. introspect
        '"username": "demo",',
        '"iss": "authproject",\n    "aud": "authproject-api"\n}',
        '\n{"active":false}\n',
        "HTTP/1.1 401 Unauthorized",
        'WWW-Authenticate: Basic realm="introspection"',
        '{"detail":"Client authentication failed.","code":"invalid_client"}',
    ]
    position = 0
    for expected in expected_in_order:
        found = out.find(expected, position)
        assert found >= 0, f"{expected!r} not found after position {position} in:\n{out}"
        position = found + len(expected)


@pytest.mark.services
@pytest.mark.skipif(not shutil.which("curl"), reason="the walk-through uses curl")
def test_readme_walkthrough_runs_as_written(transactional_db: Any, tmp_path: Path, settings: Any) -> None:
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    password = "walkthrough-Pa55word-0123"
    make_user("demo", password=password)
    with app_server(workers=1, log_dir=tmp_path) as server:
        run = subprocess.run(
            ["bash", "-c", doc_script(server.url, password, readme_walkthrough())],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    expected_in_order = [
        '"username":"demo","email":"demo@example.com"}',  # 2. /api/me/
        '"kind":"token"',  # 4. sessions
        '"current":true',
        "\n{}\n",  # 5. sign out
        '{"detail":"Token has been revoked.","code":"token_revoked"} HTTP 401',  # 6.
    ]
    position = 0
    for expected in expected_in_order:
        found = out.find(expected, position)
        assert found >= 0, f"{expected!r} not found after position {position} in:\n{out}"
        position = found + len(expected)
