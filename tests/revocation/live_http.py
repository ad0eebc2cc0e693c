"""Plain HTTP against live app servers, a private redis-server, and a TCP relay that can cut a link.

Each request opens its own connection, so the kernel spreads them over gunicorn's workers.
"""

import contextlib
import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.factories import PASSWORD
from tests.live import AppServer, app_server, free_port

UA = "revocation-tests/1.0"
BOUND = 1.0  # seconds: every request sent this long after the revocation answer must be refused
POLL_FOR = 1.5  # seconds of polling after the revocation answer


@dataclass
class Result:
    status: int
    body: Any
    started: float  # time.monotonic() when sent
    elapsed: float
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> Any:
        return self.body.get("code") if isinstance(self.body, dict) else None


def call(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    data: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Result:
    parts = urlsplit(base)
    sent_headers = {"User-Agent": UA, **(headers or {})}
    body: bytes | None = None
    if token:
        sent_headers["Authorization"] = f"Bearer {token}"
    if data is not None:
        body, sent_headers["Content-Type"] = json.dumps(data).encode(), "application/json"
    if form is not None:
        body, sent_headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
    if cookies:
        sent_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=sent_headers)
        response = conn.getresponse()
        raw = response.read()
        got = {k.lower(): v for k, v in response.getheaders()}
        got["set-cookie"] = "\n".join(v for k, v in response.getheaders() if k.lower() == "set-cookie")
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    parsed: Any = raw.decode(errors="replace")
    if got.get("content-type", "").startswith("application/json"):
        parsed = json.loads(raw)
    return Result(response.status, parsed, started, elapsed, got)


def obtain(base: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    result = call(base, "POST", "/api/token/", data={"username": username, "password": password})
    assert result.status == 200, result.body
    return result.body


def me(base: str, access: str) -> Result:
    return call(base, "GET", "/api/me/", token=access)


class Browser:
    """A cookie jar that signs in through the real login form."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, base: str, method: str, path: str, **kwargs: Any) -> Result:
        result = call(base, method, path, cookies=self.cookies, **kwargs)
        for morsel in SimpleCookie(result.headers.get("set-cookie", "")).values():
            if morsel.value and morsel["max-age"] != "0":
                self.cookies[morsel.key] = morsel.value
            else:
                self.cookies.pop(morsel.key, None)
        return result

    def sign_in(self, base: str, username: str, password: str = PASSWORD) -> None:
        page = self.request(base, "GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert token, page.body[:500]
        form = {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
        result = self.request(base, "POST", "/accounts/login/", form=form)
        assert result.status == 302, (result.status, str(result.body)[:500])
        assert "sessionid" in self.cookies


def together(calls: list[Any]) -> list[Any]:
    """Run callables at the same time (so every gunicorn worker gets some); return their results."""
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def warm(base: str, access: str, rounds: int = 6) -> None:
    """Have every worker verify (and cache) the token: concurrent requests land on both workers."""
    for _ in range(rounds):
        for result in together([lambda: me(base, access)] * 4):
            assert result.status == 200, result.body


def revoke_while_polling(base: str, access: str, revoke: Any) -> tuple[list[Result], float]:
    """Poll `base` with two concurrent clients from before `revoke()` until POLL_FOR after its answer.

    Return the results (by send time) and the monotonic time the revocation was answered.
    """
    answered: list[float] = []

    def poller() -> list[Result]:
        results = []
        while not answered or time.monotonic() < answered[0] + POLL_FOR:
            results.append(me(base, access))
        return results

    def revoker() -> list[Result]:
        time.sleep(0.3)  # the pollers are running
        result = revoke()
        answered.append(time.monotonic())
        assert result.status in (200, 204), result.body
        return []

    batches = together([poller, poller, revoker])
    return sorted((r for batch in batches for r in batch), key=lambda r: r.started), answered[0]


def assert_refused_within_bound(results: list[Result], revoked_at: float, label: str) -> float:
    """Every request sent >= BOUND after the revocation answer is a 401 token_revoked.

    Return the observed latency: from the answer to the end of the last request still accepted.
    """
    late = [r for r in results if r.started >= revoked_at + BOUND]
    assert len(late) >= 4, "not enough requests after the bound to prove anything"
    for r in results:
        assert r.status in (200, 401), (r.status, r.body)
        assert r.status == 200 or r.code == "token_revoked", r.body
    assert all(r.status == 401 and r.code == "token_revoked" for r in late)
    accepted_after = [r for r in results if r.status == 200 and r.started + r.elapsed > revoked_at]
    latency = max((r.started + r.elapsed - revoked_at for r in accepted_after), default=0.0)
    first_refused = min(r.started for r in results if r.status == 401) - revoked_at
    print(
        f"\n[{label}] {len(results)} requests; {len(accepted_after)} accepted after the revocation answer; "
        f"last accepted ended at +{latency * 1000:.0f} ms, "
        f"first refusal sent at {first_refused * 1000:+.0f} ms (bound {BOUND * 1000:.0f} ms)"
    )
    assert latency < BOUND
    return latency


@contextlib.contextmanager
def two_servers(log_dir: Path, **env: str) -> Iterator[tuple[AppServer, AppServer]]:
    """Start app servers A and B at the same time (each start costs seconds); stop both on exit."""
    managers = [app_server(log_dir=log_dir, **env), app_server(log_dir=log_dir, **env)]
    outcomes = together([lambda m=m: _enter(m) for m in managers])
    try:
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        yield outcomes[0], outcomes[1]
    finally:
        for manager, outcome in zip(managers, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                manager.__exit__(None, None, None)


def _enter(manager: Any) -> Any:
    try:
        return manager.__enter__()
    except Exception as e:  # noqa: BLE001 - handed back to the caller, which re-raises it
        return e


class PrivateRedis:
    """A throw-away redis-server on a free port, with its own directory and no persistence."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "redis-server"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def ping(self) -> bool:
        return self.command("PING") == "+PONG"

    def command(self, *words: str) -> str:
        """Send one command (inline protocol) and return the first reply line; '' when down."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall((" ".join(words) + "\r\n").encode())
                reply = b""
                while not reply.endswith(b"\r\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                return reply.decode(errors="replace").split("\r\n")[0]
        except OSError:
            return ""

    def get(self, key: str) -> str | None:
        """GET a key; None when missing (the bulk reply is read whole)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(f"GET {key}\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(4096)
                data += chunk
                if not chunk or data.startswith(b"$-1\r\n") or data.count(b"\r\n") >= 2:
                    break
        head, _, rest = data.decode().partition("\r\n")
        return None if head == "$-1" else rest.split("\r\n")[0]


class TcpRelay:
    """Forward a local port to a real server; `cut()` drops the link (and every open connection)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
