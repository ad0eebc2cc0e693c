"""Helpers of the browser tests: page steps, a static origin, a plain API client."""

import base64
import functools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.factories import PASSWORD
from tests.live import ROOT, AppServer

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
SPA_DIR = ROOT / "demo" / "spa"


class _QuietStaticHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Serve a folder on its own origin (a free port on 127.0.0.1) until the block exits."""
    handler = functools.partial(_QuietStaticHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def screenshot(page: Page, name: str) -> None:
    """Save a full-page PNG under artifacts/screenshots/ (git-ignored; docs/screenshots/ holds a copy)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(context: BrowserContext, username: str, password: str = PASSWORD) -> Page:
    """Sign in through the login form in a new tab; return the tab, on "Where you're signed in"."""
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Where you're signed in")
    return page


def expect_login_page(page: Page) -> None:
    """Assert the tab shows the login form (where a signed-out click lands)."""
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("#id_password")).to_be_visible()


def api(server: AppServer, method: str, path: str, *, body: Any = None, token: str = "") -> tuple[int, Any]:
    """Call the JSON API like a script would (no browser); return (status, decoded body)."""
    headers = {"Accept": "application/json", "User-Agent": "e2e-api-client/1.0"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - http URL of a loopback test server
        server.url + path, data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test server
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    return status, json.loads(raw) if raw else None


def eventually_status(call: Callable[[], tuple[int, Any]], expected: int, within: float = 3.0) -> int:
    """Return the first status equal to `expected` within `within` seconds, else the last one seen.

    A revocation reaches every app-server process within a second by design; other workers
    may answer from their snapshot until then.
    """
    deadline = time.monotonic() + within
    status, _ = call()
    while status != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        status, _ = call()
    return status


def jwt_claims(token: str) -> dict[str, Any]:
    """Decode a JWT's payload without verifying it (the test only reads `exp`)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
