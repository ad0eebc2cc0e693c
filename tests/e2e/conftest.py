"""Browser fixtures: Playwright driving Debian's Chromium against real app-server processes."""

import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from accounts.models import RevocationGeneration
from tests.live import ROOT, AppServer, app_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Return Debian's Chromium, installing it through `make browser` when absent (never skip)."""
    if not os.access(CHROMIUM, os.X_OK):
        subprocess.run(["make", "-s", "browser"], cwd=ROOT, check=True, timeout=900)
    assert os.access(CHROMIUM, os.X_OK), f"`make browser` did not install {CHROMIUM}"
    return CHROMIUM


@pytest.fixture(scope="package")
def _orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API keeps an asyncio loop marked running in this thread, which makes
    # Django refuse ORM calls (SynchronousOnlyOperation). The loop is idle while a test uses
    # the ORM, so the guard does not apply; lift it for this package's tests only.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def chromium(chromium_path: str, _orm_beside_playwright: None) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(chromium: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Return a factory of fresh browser contexts (separate cookie jars: separate "browsers")."""
    contexts: list[BrowserContext] = []
    broken_static: list[str] = []

    def record(response: Any) -> None:
        if "/static/" in response.url and response.status >= 400:
            broken_static.append(f"{response.status} {response.url}")

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("response", record)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not broken_static, f"static files failed to load: {broken_static}"


@pytest.fixture(scope="package")
def site(
    django_db_setup: Any, _orm_beside_playwright: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    """A real gunicorn app server (2 workers) on the test PostgreSQL database and Redis.

    One for the package, not one per test: a start costs seconds on a busy 2-core machine.
    """
    with app_server(log_dir=tmp_path_factory.mktemp("site")) as server:
        yield server


_generations = itertools.count(start=1_000_000, step=1_000_000)


@pytest.fixture(autouse=True)
def _revocation_generation_keeps_rising(transactional_db: Any) -> None:
    """Start each test's revocation generation far above the previous test's.

    Each test starts on emptied tables, which would restart the counter at 0 under app
    servers that outlive the test; a worker whose snapshot saw the same number in the
    previous test could then miss a revocation. In production the counter never goes back.
    """
    RevocationGeneration.objects.update_or_create(pk=1, defaults={"value": next(_generations)})
