"""manage.py purge_credentials: expired rows go in batches; live and revoked-but-live ones stay."""

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import AccessCutoff, FamilyToken, Session, SignInFamily
from accounts.services import revocation
from tests.conftest import sign_in
from tests.factories import make_family, make_user

pytestmark = pytest.mark.usefixtures("fast_hasher")

DAY = timedelta(days=1)


def expire_family(family: SignInFamily) -> None:
    past = timezone.now() - DAY
    SignInFamily.objects.filter(pk=family.pk).update(refresh_expires_at=past, expires_at=past)
    OutstandingToken.objects.filter(family_link__family=family).update(expires_at=past)


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_credentials", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(user: Any, browser: Any) -> dict[str, Any]:
    """Expired and live credentials of every kind."""
    sign_in(browser, "alice")
    live_session = Session.objects.get(user=user)
    for i in range(3):
        Session.objects.create(
            session_key=f"expired{i:026d}", session_data="", expire_date=timezone.now() - DAY
        )
    expired = [make_family(user) for _ in range(3)]
    for pair in expired:
        expire_family(pair.family)
    revocation.family_revoke(family=expired[0].family, reason="test")  # has blacklist rows
    live, revoked_live = make_family(user), make_family(user)
    revocation.family_revoke(family=revoked_live.family, reason="test")
    orphan = OutstandingToken.objects.create(
        user=user,
        jti="orphan",
        token="x",
        created_at=timezone.now() - 2 * DAY,
        expires_at=timezone.now() - DAY,
    )
    BlacklistedToken.objects.create(token=orphan)
    old_cutoff_user, recent_cutoff_user = make_user("carol"), make_user("dave")
    AccessCutoff.objects.create(user=old_cutoff_user, not_before=timezone.now() - 2 * DAY)
    AccessCutoff.objects.create(user=recent_cutoff_user, not_before=timezone.now() - timedelta(hours=1))
    return {
        "live_session": live_session,
        "expired": expired,
        "live": live,
        "revoked_live": revoked_live,
        "recent_cutoff_user": recent_cutoff_user,
    }


def test_purge_deletes_expired_rows_and_keeps_live_ones(world: dict[str, Any], browser: Any) -> None:
    out = purge("--batch-size", "2")
    # 3 sessions; 4 refresh tokens + 2 blacklist rows + 3 family links; 3 families; 1 cutoff
    assert "Done: purged 16 rows in " in out
    assert list(Session.objects.values_list("pk", flat=True)) == [world["live_session"].pk]
    assert set(SignInFamily.objects.values_list("pk", flat=True)) == {
        world["live"].family.pk,
        world["revoked_live"].family.pk,
    }
    assert OutstandingToken.objects.count() == 2
    assert FamilyToken.objects.count() == 2
    assert BlacklistedToken.objects.get().token.family_link.family == world["revoked_live"].family
    assert list(AccessCutoff.objects.values_list("user_id", flat=True)) == [world["recent_cutoff_user"].pk]
    # Batches of 2: the three expired sessions take two batches, each reported.
    assert "sessions: purged 2 (" in out and "sessions: purged 3 (" in out
    assert browser.get("/accounts/sessions/").status_code == 200  # the live session still works


def test_purge_never_brings_a_revoked_credential_back(world: dict[str, Any]) -> None:
    purge()
    client = APIClient()
    revoked = world["revoked_live"]
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {revoked.access}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert client.post("/api/token/refresh/", {"refresh": revoked.refresh}, format="json").status_code == 401
    for pair in world["expired"]:  # their rows are gone; the tokens are refused all the same
        assert client.post("/api/token/refresh/", {"refresh": pair.refresh}, format="json").status_code == 401
    live = world["live"]
    assert client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {live.access}").status_code == 200


def test_dry_run_counts_and_deletes_nothing(world: dict[str, Any]) -> None:
    before = (Session.objects.count(), OutstandingToken.objects.count(), SignInFamily.objects.count())
    out = purge("--dry-run")
    assert "sessions: would purge 3" in out
    assert "refresh tokens: would purge 4" in out
    assert "sign-in families: would purge 3" in out
    assert "access cutoffs: would purge 1" in out
    assert (Session.objects.count(), OutstandingToken.objects.count(), SignInFamily.objects.count()) == before


def test_nothing_to_purge(db: Any) -> None:
    assert "Done: purged 0 rows in " in purge()


def test_batch_size_must_be_positive(db: Any) -> None:
    with pytest.raises(CommandError):
        purge("--batch-size", "0")
