"""The server-rendered site in Chromium: sign up, revoke another browser, password change, CSRF."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import BrowserContext, expect

from tests.e2e.helpers import api, eventually_status, expect_login_page, screenshot, sign_in
from tests.factories import PASSWORD, make_user
from tests.live import AppServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
Contexts = Callable[..., BrowserContext]


def test_sign_up_lands_on_where_youre_signed_in(site: AppServer, new_context: Contexts) -> None:
    page = new_context(base_url=site.url, user_agent=FIREFOX_LINUX).new_page()
    page.goto("/")
    expect(page.locator("p.status")).to_have_text("You are not signed in.")
    # The site's stylesheet is served (whitenoise) and applied: the header is dark.
    header_color = page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
    assert header_color == "rgb(29, 35, 48)"

    page.locator("main").get_by_role("link", name="create an account").click()
    page.fill("#id_username", "carol")
    page.fill("#id_email", "carol@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(f"{site.url}/accounts/sessions/")
    expect(page.locator("h1")).to_have_text("Where you're signed in")
    rows = page.locator("tr.credential")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("This browser")
    expect(rows.first).to_contain_text("Firefox 121 on Linux")
    expect(page.get_by_role("button", name="Sign out carol")).to_be_visible()
    assert get_user_model().objects.filter(username="carol", email="carol@example.com").exists()


def test_revoking_another_browser_sends_it_to_the_login_page(site: AppServer, new_context: Contexts) -> None:
    make_user("rita")
    laptop = new_context(base_url=site.url, user_agent=CHROME_MAC)
    login_page = laptop.new_page()
    login_page.goto("/accounts/login/")
    screenshot(login_page, "login")
    login_page.close()
    on_laptop = sign_in(laptop, "rita")
    on_desktop = sign_in(new_context(base_url=site.url, user_agent=FIREFOX_LINUX), "rita")

    on_desktop.reload()
    rows = on_desktop.locator("tr.credential")
    expect(rows).to_have_count(2)
    expect(on_desktop.locator("tr.current")).to_contain_text("Firefox 121 on Linux")
    laptop_row = on_desktop.locator("tr.credential:not(.current)")
    expect(laptop_row).to_contain_text("Chrome 131 on Mac OS X")
    screenshot(on_desktop, "sessions")

    laptop_row.get_by_role("button", name="Revoke").click()
    expect(on_desktop.locator(".messages")).to_contain_text("Signed out that session.")
    expect(rows).to_have_count(1)

    # The laptop's next click: its session is gone, so it lands on the login page.
    on_laptop.get_by_role("link", name="Where you're signed in").click()
    expect_login_page(on_laptop)
    # The desktop that revoked it is still signed in.
    on_desktop.get_by_role("link", name="Where you're signed in").click()
    expect(on_desktop.locator("h1")).to_have_text("Where you're signed in")


def test_password_change_signs_the_other_browser_and_api_out(site: AppServer, new_context: Contexts) -> None:
    make_user("paula")
    status, pair = api(site, "POST", "/api/token/", body={"username": "paula", "password": PASSWORD})
    assert status == 200
    here = sign_in(new_context(base_url=site.url, user_agent=FIREFOX_LINUX), "paula")
    elsewhere = sign_in(new_context(base_url=site.url, user_agent=CHROME_MAC), "paula")

    here.get_by_role("link", name="Change password").click()
    here.fill("#id_old_password", PASSWORD)
    here.fill("#id_new_password1", "a-brand-new-passphrase-77")
    here.fill("#id_new_password2", "a-brand-new-passphrase-77")
    here.locator("main form button[type=submit]").click()
    expect(here.locator("h1")).to_have_text("Password changed")

    elsewhere.get_by_role("link", name="Where you're signed in").click()
    expect_login_page(elsewhere)
    assert eventually_status(lambda: api(site, "GET", "/api/me/", token=pair["access"]), 401) == 401
    assert api(site, "POST", "/api/token/refresh/", body={"refresh": pair["refresh"]})[0] == 401

    # The browser that changed the password stays signed in, now alone.
    here.get_by_role("link", name="See where you're signed in").click()
    expect(here.locator("h1")).to_have_text("Where you're signed in")
    expect(here.locator("tr.credential")).to_have_count(1)


def test_form_posted_without_its_csrf_token_is_refused(site: AppServer, new_context: Contexts) -> None:
    make_user("cyril")
    page = sign_in(new_context(base_url=site.url, user_agent=FIREFOX_LINUX), "cyril")
    sign_in(new_context(base_url=site.url, user_agent=CHROME_MAC), "cyril")
    page.reload()
    other_row = page.locator("tr.credential:not(.current)")
    expect(other_row).to_have_count(1)

    removed = page.evaluate(
        """() => {
            const input = document.querySelector(
                "tr.credential:not(.current) form input[name=csrfmiddlewaretoken]");
            input.remove();
            return document.querySelectorAll(
                "tr.credential:not(.current) form input[name=csrfmiddlewaretoken]").length === 0;
        }"""
    )
    assert removed
    with page.expect_navigation() as navigation:
        other_row.get_by_role("button", name="Revoke").click()
    response: Any = navigation.value
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("CSRF")

    # Nothing was revoked: both sessions are still listed.
    page.goto("/accounts/sessions/")
    expect(page.locator("tr.credential")).to_have_count(2)
