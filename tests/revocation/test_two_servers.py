"""Two real app servers (gunicorn, 2 workers each) share PostgreSQL and Redis: a revocation made
through one is honoured by every worker of the other within 1 second, and never undone."""

from pathlib import Path

import pytest

from tests.factories import make_user
from tests.revocation.live_http import (
    Browser,
    assert_refused_within_bound,
    call,
    me,
    obtain,
    revoke_while_polling,
    together,
    two_servers,
    warm,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


def test_revocations_on_a_reach_every_worker_of_b(log_dir: Path) -> None:
    """One pair of servers (starting gunicorn dominates the cost), three revocations, three users."""
    for name in ("alice", "bob", "carol"):
        make_user(name)
    with two_servers(log_dir) as (a, b):
        access_token_signed_out_on_a(a.url, b.url)
        access_token_deleted_on_a(a.url, b.url)
        browser_session_revoked_on_a(a.url, b.url)


def access_token_signed_out_on_a(a: str, b: str) -> None:
    victim = obtain(a, "alice")
    bystander = obtain(b, "alice")
    warm(b, victim["access"])
    warm(a, victim["access"], rounds=2)

    # Sign out through A (POST /api/token/blacklist/) while B is being polled.
    results, revoked_at = revoke_while_polling(
        b,
        victim["access"],
        lambda: call(a, "POST", "/api/token/blacklist/", data={"refresh": victim["refresh"]}),
    )
    assert_refused_within_bound(results, revoked_at, "blacklist on A, polled on B")

    # Never accepted again, anywhere; the refresh token is dead on both servers at once.
    for base in (a, b):
        for result in together([lambda base=base: me(base, victim["access"])] * 4):
            assert (result.status, result.code) == (401, "token_revoked")
        refreshed = call(base, "POST", "/api/token/refresh/", data={"refresh": victim["refresh"]})
        assert refreshed.status == 401
        assert me(base, bystander["access"]).status == 200  # the other sign-in is untouched


def access_token_deleted_on_a(a: str, b: str) -> None:
    victim = obtain(a, "bob")
    actor = obtain(a, "bob")
    warm(b, victim["access"])
    listing = call(a, "GET", "/api/me/sessions/", token=actor["access"])
    ids = [c["id"] for c in listing.body if c["kind"] == "token" and not c["current"]]
    assert len(ids) == 1

    results, revoked_at = revoke_while_polling(
        b,
        victim["access"],
        lambda: call(a, "DELETE", f"/api/me/sessions/{ids[0]}/", token=actor["access"]),
    )
    assert_refused_within_bound(results, revoked_at, "DELETE /api/me/sessions/{id}/ on A, polled on B")
    assert me(b, actor["access"]).status == 200


def browser_session_revoked_on_a(a: str, b: str) -> None:
    """Sessions live in PostgreSQL (Redis only caches them, and revoking deletes the entry): no delay."""
    browser = Browser()
    browser.sign_in(a, "carol")
    for result in together([lambda: browser.request(b, "GET", "/api/me/")] * 4):
        assert result.status == 200, result.body  # the cookie works on B (cached in Redis now)
    assert browser.request(b, "GET", "/accounts/sessions/").status == 200

    actor = obtain(a, "carol")
    listing = call(a, "GET", "/api/me/sessions/", token=actor["access"])
    ids = [c["id"] for c in listing.body if c["kind"] == "session"]
    assert len(ids) == 1
    assert call(a, "DELETE", f"/api/me/sessions/{ids[0]}/", token=actor["access"]).status == 204

    # Sessions live in PostgreSQL (Redis only caches them and the entry is deleted): no delay.
    cookie = dict(browser.cookies)
    for _ in range(3):
        for result in together([lambda: call(b, "GET", "/api/me/", cookies=cookie)] * 4):
            assert result.status in (401, 403), (result.status, result.body)
        page = call(b, "GET", "/accounts/sessions/", cookies=cookie)
        assert page.status == 302 and "/accounts/login/" in page.headers["location"]
