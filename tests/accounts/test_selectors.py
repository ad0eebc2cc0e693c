"""Reads: one user's credentials come from one indexed query, never from decoding session data."""

import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import selectors
from accounts.models import Session
from tests.factories import make_family, make_user

INDEX = "accounts_session_user_exp"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def add_session(user: Any, *, minutes_ago: int = 0, expires_in: timedelta = timedelta(days=1)) -> Session:
    now = timezone.now()
    return Session.objects.create(
        session_key=secrets.token_hex(16),
        session_data="",
        expire_date=now + expires_in,
        user=user,
        last_activity=now - timedelta(minutes=minutes_ago),
    )


def test_session_list_is_one_query_with_the_owner(user: Any, django_assert_num_queries: Any) -> None:
    for minutes in (5, 1, 30):
        add_session(user, minutes_ago=minutes)
    with django_assert_num_queries(1):
        sessions = list(selectors.session_list(user=user))
        names = [s.user.username for s in sessions]  # select_related: no query per row
    assert names == ["alice"] * 3
    assert [s.last_activity for s in sessions] == sorted((s.last_activity for s in sessions), reverse=True)


def test_session_list_shows_only_the_users_live_sessions(user: Any, other_user: Any) -> None:
    mine = add_session(user)
    add_session(user, expires_in=-timedelta(seconds=1))
    add_session(other_user)
    add_session(None)  # anonymous
    assert [s.pk for s in selectors.session_list(user=user)] == [mine.pk]


def test_session_get_only_finds_own_sessions(user: Any, other_user: Any) -> None:
    mine, theirs = add_session(user), add_session(other_user)
    assert selectors.session_get(user=user, public_id=mine.public_id) == mine
    assert selectors.session_get(user=user, public_id=theirs.public_id) is None


def test_credential_list_merges_sessions_and_sign_ins(user: Any, django_assert_num_queries: Any) -> None:
    current = add_session(user, minutes_ago=10)
    add_session(user, minutes_ago=20)
    pair = make_family(user)
    with django_assert_num_queries(2):  # one per kind
        credentials = selectors.credential_list(
            user=user, current_session_key=current.session_key, current_family_id=None
        )
    assert [c.kind for c in credentials] == ["token", "session", "session"]  # most recent first
    assert [c.id for c in credentials if c.current] == [str(current.public_id)]
    assert credentials[0].id == str(pair.family.pk)
    assert all(current.session_key not in c.id for c in credentials)


def test_sessions_page_queries_do_not_grow_with_sessions(user: Any) -> None:
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/accounts/sessions/").status_code == 200
        return len(queries)

    count()  # the first visit records activity
    few = count()
    for _ in range(10):
        add_session(user)
    assert count() == few


def test_listing_plan_uses_the_user_index(user: Any) -> None:
    """With thousands of other users' sessions and fresh statistics, the planner picks the index.

    No planner settings are forced (no enable_seqscan = off): the rows are seeded and
    ANALYZE run, as autovacuum would in production, so this is the plan a real table of
    this shape gets, on SQLite in the first pass and on PostgreSQL in the second.
    """
    owners = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"seed{i}", password="!") for i in range(200)]
    )
    now = timezone.now()
    Session.objects.bulk_create(
        [
            Session(
                session_key=secrets.token_hex(16),
                session_data="",
                expire_date=now + timedelta(days=(i % 20) - 5),
                user=owners[i % len(owners)],
            )
            for i in range(4000)
        ],
        batch_size=1000,
    )
    for minutes in range(3):
        add_session(user, minutes_ago=minutes)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_session")
    plan = selectors.session_list(user=user).explain()
    print(plan)  # shown with pytest -s
    assert INDEX in plan, plan
    # The joined user row may come from a scan of a small auth_user table; sessions may not.
    assert "Seq Scan on accounts_session" not in plan and "SCAN accounts_session" not in plan, plan
    assert len(selectors.session_list(user=user)) == 3


def test_deleting_a_user_deletes_their_sessions(db: Any) -> None:
    carol = make_user("carol")
    add_session(carol)
    carol.delete()
    assert not Session.objects.exists()
