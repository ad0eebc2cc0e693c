"""The operator's admin in Chromium: find a user and sign them out everywhere, browser and API alike."""

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import BrowserContext, expect

from tests.e2e.helpers import api, eventually_status, expect_login_page, screenshot, sign_in
from tests.factories import PASSWORD, make_user
from tests.live import AppServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
Contexts = Callable[..., BrowserContext]


def test_operator_signs_a_user_out_everywhere(site: AppServer, new_context: Contexts) -> None:
    get_user_model().objects.create_superuser("olga", "olga@example.com", PASSWORD)
    make_user("umar")
    users_browser = sign_in(new_context(base_url=site.url, user_agent=FIREFOX_LINUX), "umar")
    status, pair = api(site, "POST", "/api/token/", body={"username": "umar", "password": PASSWORD})
    assert status == 200
    assert api(site, "GET", "/api/me/", token=pair["access"])[0] == 200

    admin = new_context(base_url=site.url, viewport={"width": 1920, "height": 1000}).new_page()
    admin.goto("/admin/")
    admin.fill("#id_username", "olga")
    admin.fill("#id_password", PASSWORD)
    admin.locator("#login-form input[type=submit]").click()
    expect(admin.locator("#site-name")).to_be_visible()
    # The admin's stylesheets are served (whitenoise) and applied: the header is coloured.
    header_color = admin.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header_color not in ("", "rgba(0, 0, 0, 0)")

    admin.goto("/admin/accounts/session/")
    expect(admin.locator("#result_list")).to_contain_text("umar")
    screenshot(admin, "admin-sessions")

    # Find the user the way an operator would: Users, search, open.
    admin.goto("/admin/")
    admin.get_by_role("link", name="Users", exact=True).click()
    admin.fill("#searchbar", "umar")
    admin.locator("#changelist-search input[type=submit]").click()
    admin.locator("#result_list").get_by_role("link", name="umar", exact=True).click()
    expect(admin.locator("#user-credentials")).to_contain_text("Firefox 121 on Linux")

    admin.locator("a.sign-out-everywhere").click()
    expect(admin.locator("#content h1")).to_contain_text("out everywhere")
    screenshot(admin, "admin-sign-out-everywhere")
    admin.fill("#id_reason", "laptop reported stolen")
    admin.get_by_role("button", name="Yes, sign them out everywhere").click()
    expect(admin.locator("ul.messagelist")).to_contain_text("Signed umar out everywhere")

    # The user's browser: its next click lands on the login page.
    users_browser.get_by_role("link", name="Where you're signed in").click()
    expect_login_page(users_browser)
    # The user's API client: the access token is refused within a second, the refresh token at once.
    assert eventually_status(lambda: api(site, "GET", "/api/me/", token=pair["access"]), 401) == 401
    assert api(site, "POST", "/api/token/refresh/", body={"refresh": pair["refresh"]})[0] == 401
    # The operator is still signed in.
    admin.goto("/admin/")
    expect(admin.locator("#site-name")).to_be_visible()
