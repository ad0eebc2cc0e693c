"""The revocation service, for browser sessions: it ends them through the engine and audits each."""

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client

from accounts.models import RevocationEvent, RevocationGeneration, Session, SignInFamily
from accounts.services import revocation
from tests.factories import make_family

ENGINES = ["accounts.backends.db", "accounts.backends.cached_db"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=ENGINES)
def engine(request: Any, settings: Any) -> str:
    settings.SESSION_ENGINE = request.param
    return request.param


def browser_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def key_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def is_signed_in(client: Client) -> bool:
    return client.get("/accounts/sessions/").status_code == 200


def cache_holds(engine: str, key: str) -> bool:
    prefix = getattr(import_module(engine).SessionStore, "cache_key_prefix", None)
    return prefix is not None and caches[settings.SESSION_CACHE_ALIAS].get(prefix + key) is not None


def generation() -> int:
    row = RevocationGeneration.objects.filter(pk=1).first()
    return row.value if row else 0


def test_session_revoke_ends_the_session_and_its_cache_entry(engine: str, user: Any) -> None:
    client = browser_of(user)
    assert is_signed_in(client)  # with cached_db this also caches the session
    key = key_of(client)
    if engine.endswith("cached_db"):
        assert cache_holds(engine, key)
    before = generation()
    event = revocation.session_revoke(
        session=Session.objects.get(pk=key), actor=user, reason="lost phone", ip="198.51.100.9"
    )
    assert not Session.objects.filter(pk=key).exists()
    assert not cache_holds(engine, key)
    assert not is_signed_in(client)
    assert generation() > before
    assert (event.action, event.actor_id, event.user_id, event.count) == ("session", user.pk, user.pk, 1)
    assert (event.reason, event.ip) == ("lost phone", "198.51.100.9")
    assert event.created_at is not None
    assert RevocationEvent.objects.get() == event


def test_credential_revoke_refuses_other_users_and_bad_ids(user: Any, other_user: Any) -> None:
    bob = browser_of(other_user)
    bob_session = Session.objects.get(pk=key_of(bob))
    bob_family = make_family(other_user).family
    for credential_id in (
        str(bob_session.public_id),
        str(bob_family.pk),
        "nope",
        "",
        bob_session.session_key,
    ):
        assert revocation.credential_revoke(user=user, credential_id=credential_id, actor=user) is None
    assert is_signed_in(bob)
    assert SignInFamily.objects.get(pk=bob_family.pk).revoked_at is None
    assert not RevocationEvent.objects.exists()


def test_credential_revoke_by_public_id(user: Any) -> None:
    client = browser_of(user)
    session = Session.objects.get(pk=key_of(client))
    event = revocation.credential_revoke(user=user, credential_id=str(session.public_id), actor=None)
    assert event is not None and event.target == str(session.public_id)
    assert event.actor_id is None  # e.g. an operator's script: no signed-in actor
    assert not is_signed_in(client)


def test_sign_out_others_keeps_one_session(engine: str, user: Any, other_user: Any) -> None:
    keep, lose1, lose2, bob = browser_of(user), browser_of(user), browser_of(user), browser_of(other_user)
    for c in (keep, lose1, lose2):
        assert is_signed_in(c)
    family = make_family(user).family
    event = revocation.user_sign_out_others(
        user=user, keep_session_key=key_of(keep), actor=user, reason="test", ip="127.0.0.1"
    )
    assert event.count == 3 and event.action == "others"
    assert is_signed_in(keep) and is_signed_in(bob)
    assert not is_signed_in(lose1) and not is_signed_in(lose2)
    assert not cache_holds(engine, key_of(lose1))
    assert SignInFamily.objects.get(pk=family.pk).revoked_at is not None


def test_sign_out_everywhere_ends_every_session(engine: str, user: Any, other_user: Any) -> None:
    mine = [browser_of(user) for _ in range(3)]
    bob = browser_of(other_user)
    make_family(user)
    event = revocation.user_sign_out_everywhere(user=user, actor=None, reason="operator")
    assert event.count == 4 and event.action == "everywhere"
    assert not any(is_signed_in(c) for c in mine)
    assert is_signed_in(bob)
    assert not Session.objects.filter(user=user).exists()


def test_deactivating_a_user_signs_them_out_everywhere(user: Any) -> None:
    client = browser_of(user)
    user.is_active = False
    user.save()
    assert not is_signed_in(client)
    assert not Session.objects.filter(user=user).exists()
    event = RevocationEvent.objects.get()
    assert (event.action, event.reason) == ("everywhere", "deactivated")


def test_password_set_outside_a_request_signs_out_everywhere(user: Any) -> None:
    client = browser_of(user)
    user.set_password("another-long-passphrase-9")
    user.save()
    assert not is_signed_in(client)
    event = RevocationEvent.objects.get()
    assert (event.action, event.reason, event.actor_id) == ("everywhere", "password changed", None)


def test_saving_a_user_without_credential_changes_revokes_nothing(user: Any) -> None:
    client = browser_of(user)
    user.first_name = "Alice"
    user.save()
    assert is_signed_in(client)
    assert not RevocationEvent.objects.exists()


def test_blacklisting_a_token_outside_any_family_is_audited(user: Any) -> None:
    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    legacy = OutstandingToken.objects.create(
        user=user, jti="legacy-jti", token="sha256:00", expires_at=timezone.now()
    )
    pair = make_family(user)
    family_token = OutstandingToken.objects.get(family_link__family=pair.family)
    events = revocation.refresh_tokens_blacklist(tokens=[legacy, family_token], reason="stolen")
    assert {(e.target, e.user_id, e.reason) for e in events} == {
        ("legacy-jti", user.pk, "stolen"),
        (str(pair.family.pk), user.pk, "stolen"),
    }
    assert BlacklistedToken.objects.filter(token=legacy).exists()
    # Blacklisting it again changes nothing, so it is not audited again.
    assert revocation.refresh_tokens_blacklist(tokens=[legacy]) == []
