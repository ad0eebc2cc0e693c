"""The session model: a Django session row with an owner, a device and a public id."""

import uuid
from datetime import timedelta
from typing import Any

from django.contrib.sessions.base_session import AbstractBaseSession
from django.utils import timezone

from accounts.backends.db import SessionStore
from accounts.models import RevocationEvent, Session


def saved_session(**data: Any) -> Session:
    store = SessionStore()
    store.update(data or {"k": "v"})
    store.save()
    return Session.objects.get(pk=store.session_key)


def test_is_a_django_session_model(db: Any) -> None:
    assert issubclass(Session, AbstractBaseSession)
    assert Session._meta.pk.name == "session_key"
    assert Session.get_session_store_class() is SessionStore
    assert saved_session(colour="blue").get_decoded() == {"colour": "blue"}


def test_public_id_is_a_fresh_uuid_that_is_not_the_key(db: Any) -> None:
    a, b = saved_session(), saved_session()
    assert isinstance(a.public_id, uuid.UUID)
    assert a.public_id != b.public_id
    assert a.session_key.replace("-", "") not in a.public_id.hex
    assert Session._meta.get_field("public_id").unique


def test_str_names_the_public_id_never_the_key(db: Any) -> None:
    s = saved_session()
    assert str(s.public_id) in str(s)
    assert s.session_key not in str(s)
    assert s.session_key not in repr(s)


def test_owner_is_indexed_together_with_expiry() -> None:
    indexes = {tuple(i.fields): i.name for i in Session._meta.indexes}
    assert indexes[("user", "expire_date")] == "accounts_session_user_exp"
    # The composite index serves user lookups; a second single-column one would be waste.
    assert Session._meta.get_field("user").db_index is False


def test_is_active(db: Any) -> None:
    s = saved_session()
    assert s.is_active
    s.expire_date = timezone.now() - timedelta(seconds=1)
    assert not s.is_active


def test_revocation_events_list_newest_first(user: Any) -> None:
    old = RevocationEvent.objects.create(
        action="session", user=user, created_at=timezone.now() - timedelta(1)
    )
    new = RevocationEvent.objects.create(action="others", user=user)
    assert list(RevocationEvent.objects.all()) == [new, old]
    assert "Signed out everywhere else" in str(new)
