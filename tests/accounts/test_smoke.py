"""The site answers: home, login page, and a sign-in that lands on the sessions page."""

from typing import Any

from tests.conftest import sign_in


def test_home_shows_signed_out(client: Any, db: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"You are not signed in." in response.content


def test_sign_in_lands_on_sessions_page(browser: Any, user: Any) -> None:
    sign_in(browser, "alice")
    response = browser.get("/accounts/sessions/")
    assert response.status_code == 200
    assert b"Firefox 121 on Linux" in response.content
