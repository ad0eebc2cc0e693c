"""Real app-server processes (gunicorn) for tests that cross process boundaries.

They share the test run's PostgreSQL test database and Redis, so use them from
tests marked `services` with the `transactional_db` fixture (data must be committed).
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("live servers need the PostgreSQL pass (DATABASE_URL)")
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen
    log: Path


def server_env(**overrides: str) -> dict[str, str]:
    """Environment of an app server on the test database and the test run's Redis."""
    # DJANGO_ALLOW_ASYNC_UNSAFE is a test-process switch (set around Playwright), not for servers.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=test_database_url(),
        REDIS_URL=os.environ.get("REDIS_URL", ""),
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@contextmanager
def app_server(*, workers: int = 2, log_dir: Path, **env_overrides: str) -> Iterator[AppServer]:
    """Run gunicorn serving this project on a free port until the block exits."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [GUNICORN, "project.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
             "--graceful-timeout", "2", "--timeout", "30"],
            cwd=ROOT, env=server_env(**env_overrides), stdout=out, stderr=subprocess.STDOUT,
        )
    server = AppServer(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: AppServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"app server exited:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"app server not ready after {timeout}s:\n{server.log.read_text()[-3000:]}")
