"""The per-process revocation snapshot, on a controlled clock, with the real database and cache.

A fresh RevocationState stands for "another server": revocations made here do not
invalidate it, so it only learns of them through the published generation or the
database, exactly as a separate process would.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.settings import api_settings

from accounts.conf import accounts_settings
from accounts.models import AccessCutoff
from accounts.services import revocation, revocation_state
from accounts.services.revocation_state import GENERATION_KEY, RevocationState
from accounts.tokens import FAMILY_CLAIM, AccessToken
from tests.factories import make_family

pytestmark = pytest.mark.usefixtures("fast_hasher")

POLL = 0.5
RECONCILE = 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(revocation_state, "monotonic", fake)
    return fake


@pytest.fixture(autouse=True)
def _intervals(settings: Any) -> None:
    settings.ACCOUNTS = {
        **getattr(settings, "ACCOUNTS", {}),
        "REVOCATION_POLL_INTERVAL": POLL,
        "REVOCATION_RECONCILE_INTERVAL": RECONCILE,
    }
    assert accounts_settings.REVOCATION_POLL_INTERVAL == POLL


def revoked(view: RevocationState, access: str) -> bool:
    token = AccessToken(access)
    return view.is_access_revoked(
        family_id=token[FAMILY_CLAIM], user_id=str(token[api_settings.USER_ID_CLAIM]), issued_at=token["iat"]
    )


def published() -> Any:
    return caches[accounts_settings.REVOCATION_CACHE_ALIAS].get(GENERATION_KEY)


def db_generation() -> int:
    return revocation_state._db_generation()


def warm(view: RevocationState, clock: FakeClock, access: str) -> None:
    """Two checks a poll apart: the snapshot then answers to the published generation."""
    assert not revoked(view, access)
    clock.advance(POLL)
    assert not revoked(view, access)
    assert view._snapshot is not None and view._snapshot.published is not None


def test_poll_interval_bounds_how_long_a_published_revocation_goes_unseen(
    user: Any, clock: FakeClock, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    pair = make_family(user)
    view = RevocationState()
    warm(view, clock, pair.access)
    with django_capture_on_commit_callbacks(execute=True):
        revocation.family_revoke(family=pair.family, reason="test")
    assert published() == db_generation()
    # Within the poll interval the snapshot answers from memory: no query, no cache read.
    clock.advance(POLL - 0.01)
    with django_assert_num_queries(0):
        assert not revoked(view, pair.access)
    # At the bound it reads the published generation, reloads, and refuses from then on.
    clock.advance(0.01)
    assert revoked(view, pair.access)
    for _ in range(3):
        clock.advance(POLL)
        assert revoked(view, pair.access)


def test_unchanged_generation_costs_one_cache_read_and_no_query(
    user: Any, clock: FakeClock, django_assert_num_queries: Any
) -> None:
    pair = make_family(user)
    view = RevocationState()
    warm(view, clock, pair.access)
    clock.advance(POLL)
    with django_assert_num_queries(0):
        assert not revoked(view, pair.access)


def test_reconcile_finds_a_revocation_whose_publish_was_lost(
    user: Any, clock: FakeClock, django_assert_num_queries: Any
) -> None:
    pair = make_family(user)
    view = RevocationState()
    warm(view, clock, pair.access)
    before = published()
    revocation.family_revoke(family=pair.family, reason="test")  # on_commit never runs: publish lost
    assert published() == before != db_generation()
    # Each poll reads the cache, which still says "nothing new", until the reconcile is due
    # (RECONCILE after the last load, which warm() did at the current time).
    for _ in range(int(RECONCILE / POLL) - 1):
        clock.advance(POLL)
        with django_assert_num_queries(0):
            assert not revoked(view, pair.access)
    clock.advance(POLL)
    assert revoked(view, pair.access)  # the database says otherwise
    for _ in range(3):
        clock.advance(POLL)
        assert revoked(view, pair.access)


def test_missing_generation_key_falls_back_to_the_database_and_restores_it(
    user: Any, clock: FakeClock
) -> None:
    pair = make_family(user)
    view = RevocationState()
    warm(view, clock, pair.access)
    caches[accounts_settings.REVOCATION_CACHE_ALIAS].delete(GENERATION_KEY)  # e.g. Redis restarted empty
    revocation.family_revoke(family=pair.family, reason="test")  # its publish is lost too
    clock.advance(POLL)
    assert revoked(view, pair.access)
    assert published() == db_generation()  # the fast path is back
    clock.advance(POLL)
    assert revoked(view, pair.access)


def test_missing_key_without_change_keeps_the_snapshot_and_restores_the_key(
    user: Any, clock: FakeClock, django_assert_num_queries: Any
) -> None:
    pair = make_family(user)
    view = RevocationState()
    warm(view, clock, pair.access)
    caches[accounts_settings.REVOCATION_CACHE_ALIAS].delete(GENERATION_KEY)
    clock.advance(POLL)
    with django_assert_num_queries(2):  # the generation row, and again after restoring the key; no reload
        assert not revoked(view, pair.access)
    assert published() == db_generation()


def test_lagging_publish_the_database_wins(
    user: Any, clock: FakeClock, django_capture_on_commit_callbacks: Any
) -> None:
    """Committed but not yet published: a process loading now already refuses the token."""
    pair = make_family(user)
    warm(RevocationState(), clock, pair.access)
    stale = published()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revocation.family_revoke(family=pair.family, reason="test")
    assert published() == stale
    view = RevocationState()
    assert revoked(view, pair.access)
    for callback in callbacks:  # the publish arrives late
        callback()
    assert published() == db_generation()
    clock.advance(POLL)
    assert revoked(view, pair.access)


def test_cutoff_refuses_tokens_of_earlier_seconds_only(user: Any, clock: FakeClock) -> None:
    """Within the cutoff's own second the family sweep decides, so a fresh sign-in is not refused."""
    cutoff = timezone.now().replace(microsecond=500_000)
    AccessCutoff.objects.create(user=user, not_before=cutoff)
    view = RevocationState()
    second = int(cutoff.timestamp())
    uid = str(user.pk)
    family = "00000000-0000-0000-0000-000000000001"
    assert view.is_access_revoked(family_id=family, user_id=uid, issued_at=second - 60)
    assert view.is_access_revoked(family_id=family, user_id=uid, issued_at=second - 1)
    assert not view.is_access_revoked(family_id=family, user_id=uid, issued_at=second)
    assert not view.is_access_revoked(family_id=family, user_id=uid, issued_at=second + 1)
    assert not view.is_access_revoked(family_id=family, user_id="999999", issued_at=second)


def test_snapshot_holds_only_revocations_of_the_last_access_lifetime(user: Any, clock: FakeClock) -> None:
    old, recent = make_family(user), make_family(user)
    revocation.family_revoke(family=old.family, reason="test")
    revocation.family_revoke(family=recent.family, reason="test")
    lifetime = api_settings.ACCESS_TOKEN_LIFETIME
    old.family.__class__.objects.filter(pk=old.family.pk).update(
        revoked_at=timezone.now() - lifetime - timedelta(seconds=5)
    )
    view = RevocationState()
    assert revoked(view, recent.access)
    assert view._snapshot is not None
    assert str(recent.family.pk) in view._snapshot.families
    assert str(old.family.pk) not in view._snapshot.families  # its access tokens have all expired


# Per request: every authenticated API call checks the snapshot.


def me(client: APIClient, access: str) -> Any:
    return client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


@pytest.mark.project  # calls /api/me/
def test_revoked_family_gives_token_revoked_even_for_an_already_verified_token(user: Any) -> None:
    pair, other = make_family(user), make_family(user)
    client = APIClient()
    assert me(client, pair.access).status_code == 200  # now in the verified-token cache
    revocation.family_revoke(family=pair.family, reason="test")
    for _ in range(3):
        response = me(client, pair.access)
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
    assert me(client, other.access).status_code == 200


@pytest.mark.project  # calls /api/me/
def test_sign_out_everywhere_refuses_every_token_issued_before(user: Any, other_user: Any) -> None:
    pairs = [make_family(user), make_family(user)]
    bystander = make_family(other_user)
    client = APIClient()
    for pair in pairs:
        assert me(client, pair.access).status_code == 200
    revocation.user_sign_out_everywhere(user=user, reason="test")
    for pair in pairs:
        response = me(client, pair.access)
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
    assert me(client, bystander.access).status_code == 200


@pytest.mark.project  # calls /api/me/
def test_cutoff_alone_refuses_a_token_of_an_unrevoked_family(user: Any) -> None:
    """A family that escaped the sweep (e.g. started concurrently) is still cut off by `iat`."""
    pair = make_family(user)
    client = APIClient()
    assert me(client, pair.access).status_code == 200
    AccessCutoff.objects.create(user=user, not_before=timezone.now() + timedelta(seconds=1))
    revocation_state.bump_generation()
    response = me(client, pair.access)
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


def test_a_stale_restore_does_not_hide_a_newer_generation(user: Any, clock: FakeClock) -> None:
    """Restoring a generation the database has already moved past leaves no stale key behind."""
    pair = make_family(user)
    revocation.family_revoke(family=pair.family, reason="test")  # its publish is lost
    caches[accounts_settings.REVOCATION_CACHE_ALIAS].delete(GENERATION_KEY)
    revocation_state._restore_published(db_generation() - 1)  # read just before that commit
    assert published() is None
    revocation_state._restore_published(db_generation())
    assert published() == db_generation()


@pytest.mark.project  # calls /api/me/
def test_sign_in_right_after_sign_out_everywhere_works(user: Any) -> None:
    """The old sign-in is refused at once; a new one made in the same second is accepted."""
    old = make_family(user)
    client = APIClient()
    revocation.user_sign_out_everywhere(user=user, reason="test")
    fresh = make_family(user)
    assert me(client, old.access).status_code == 401
    assert me(client, fresh.access).status_code == 200
