"""The single-page demo (demo/spa) in Chromium, served from other origins, using the API through CORS."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import SignInFamily
from tests.e2e.helpers import SPA_DIR, api, eventually_status, jwt_claims, screenshot, static_server
from tests.factories import PASSWORD, make_user
from tests.live import AppServer, app_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ACCESS_LIFETIME = 8  # seconds: short, so the demo's refresh timer fires during the test
Contexts = Callable[..., BrowserContext]


@pytest.fixture(scope="module")
def spa_origins() -> Iterator[tuple[str, str]]:
    """The demo served twice: from an origin the API allows, and from one it does not."""
    with static_server(SPA_DIR) as allowed, static_server(SPA_DIR) as refused:
        yield allowed, refused


@pytest.fixture(scope="module")
def spa_api(
    spa_origins: tuple[str, str],
    django_db_setup: Any,
    _orm_beside_playwright: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    """The app server, allowing only the first SPA origin."""
    allowed, _ = spa_origins
    with app_server(
        log_dir=tmp_path_factory.mktemp("spa"),
        CORS_ALLOWED_ORIGINS=allowed,
        JWT_ACCESS_TOKEN_LIFETIME=str(ACCESS_LIFETIME),
    ) as server:
        yield server


def open_demo(context: BrowserContext, origin: str, server: AppServer) -> tuple[Page, list[str]]:
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{origin}/?api={server.url}")
    expect(page.locator("#api-base")).to_have_text(server.url)
    return page, console


def fill_sign_in(page: Page, username: str) -> None:
    page.fill("#username", username)
    page.fill("#password", PASSWORD)


def test_demo_signs_in_refreshes_revokes_and_signs_out_through_cors(
    spa_origins: tuple[str, str], spa_api: AppServer, new_context: Contexts
) -> None:
    allowed, _ = spa_origins
    user = make_user("sam")
    # Another API sign-in of the same user (say, a phone app), for the demo to revoke.
    status, phone = api(spa_api, "POST", "/api/token/", body={"username": "sam", "password": PASSWORD})
    assert status == 200
    context = new_context()
    page, console = open_demo(context, allowed, spa_api)

    refreshes: list[Any] = []
    page.on("response", lambda r: refreshes.append(r) if r.url.endswith("/api/token/refresh/") else None)
    fill_sign_in(page, "sam")
    with page.expect_response(lambda r: r.url.endswith("/api/token/")) as signed_in:
        page.click("#signin-button")
    first = signed_in.value.json()
    expect(page.locator("#me-username")).to_have_text("sam")
    expect(page.locator("#me-email")).to_have_text("sam@example.com")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#sessions tr.current")).to_contain_text("This app")
    screenshot(page, "spa-signed-in")

    # Revoke the phone's sign-in from the demo: its refresh token stops working.
    page.locator("#sessions tr:not(.current)").get_by_role("button", name="Revoke").click()
    expect(page.locator("#status")).to_have_text("Revoked that API sign-in.")
    expect(rows).to_have_count(1)
    assert api(spa_api, "POST", "/api/token/refresh/", body={"refresh": phone["refresh"]})[0] == 401

    # The demo refreshes on its own timer, before the access token expires.
    expect(page.locator("#refresh-count")).to_have_text("1", timeout=(ACCESS_LIFETIME + 3) * 1000)
    assert refreshes[0].status == 200
    renewed = refreshes[0].json()
    assert jwt_claims(renewed["access"])["iat"] < jwt_claims(first["access"])["exp"]
    page.click("#reload-button")
    expect(page.locator("#status")).to_have_text("Reloaded.")
    expect(page.locator("#sessions tr.current")).to_have_count(1)

    # Tokens live in memory only: no web storage, no cookies, nothing in the page.
    storage = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    assert storage == [0, 0, ""]
    assert context.cookies() == []
    html = page.content()
    for token in (first["access"], first["refresh"], renewed["access"], renewed["refresh"]):
        assert token not in html

    # Sign out: the sign-in family ends on the server, its tokens with it.
    latest = refreshes[-1].json()
    page.click("#logout-button")
    expect(page.locator("#status")).to_contain_text("Signed out")
    expect(page.locator("#signin-form")).to_be_visible()
    assert eventually_status(lambda: api(spa_api, "GET", "/api/me/", token=latest["access"]), 401) == 401
    assert api(spa_api, "POST", "/api/token/refresh/", body={"refresh": latest["refresh"]})[0] == 401
    assert not SignInFamily.objects.filter(user=user, revoked_at__isnull=True).exists()
    # The strict Content-Security-Policy held: no inline code needed, nothing blocked.
    assert not [line for line in console if "Content Security Policy" in line]


def test_demo_on_an_origin_not_allowed_is_refused_by_the_browser(
    spa_origins: tuple[str, str], spa_api: AppServer, new_context: Contexts
) -> None:
    _, refused = spa_origins
    user = make_user("mallory")
    page, console = open_demo(new_context(), refused, spa_api)

    fill_sign_in(page, "mallory")
    page.click("#signin-button")
    expect(page.locator("#status")).to_contain_text("Network or CORS error")
    expect(page.locator("#status")).to_contain_text(refused)
    expect(page.locator("#signin-form")).to_be_visible()
    assert any("blocked by CORS policy" in line for line in console), console
    # The preflight was refused, so the browser never sent the sign-in itself.
    assert not SignInFamily.objects.filter(user=user).exists()
    screenshot(page, "spa-cors-refused")
