"""Start and stop gunicorn app servers of the bench settings (the bench stops all it starts)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(*, workers: int = 2, log_dir: Path) -> Iterator[str]:
    """Run gunicorn on a free port with this process's bench environment; yield its base URL."""
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", PYTHONUNBUFFERED="1")
    log = log_dir / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [GUNICORN, "project.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
             "--graceful-timeout", "2", "--timeout", "60", "--backlog", "256"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"app server not ready after {timeout}s:\n{log.read_text()[-3000:]}")
