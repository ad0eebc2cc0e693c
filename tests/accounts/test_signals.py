"""credential_created and credential_revoked, as an integrator's receivers see them."""

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.dispatch import Signal
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import RevocationEvent, Session, SignInFamily
from accounts.services import revocation
from accounts.services.families import FamilyError, family_rotate
from accounts.signals import KIND_SESSION, KIND_TOKEN, credential_created, credential_revoked
from accounts.tokens import FAMILY_CLAIM, AccessToken
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import PASSWORD, make_family, make_user

Committed = Callable[..., AbstractContextManager[Any]]


class Receiver:
    """Records every sending of one signal: its sender and keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, sender: Any, signal: Signal, **kwargs: Any) -> None:
        self.calls.append({"sender": sender, **kwargs})

    def ids(self) -> set[str]:
        return {call["credential_id"] for call in self.calls}


def _connected(signal: Signal) -> Iterator[Receiver]:
    receiver = Receiver()
    signal.connect(receiver, weak=False, dispatch_uid="tests.signals.receiver")
    yield receiver
    signal.disconnect(dispatch_uid="tests.signals.receiver")


@pytest.fixture
def created() -> Iterator[Receiver]:
    yield from _connected(credential_created)


@pytest.fixture
def revoked() -> Iterator[Receiver]:
    yield from _connected(credential_revoked)


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Committed) -> Callable[[], AbstractContextManager[Any]]:
    """Run what the block queued for after commit when it ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(username: str = "alice") -> Client:
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(client, username)
    return client


def public_id_of(client: Client) -> str:
    return str(Session.objects.get(pk=client.cookies[settings.SESSION_COOKIE_NAME].value).public_id)


# credential_created


def test_site_sign_in_announces_the_new_session(user: Any, created: Receiver, committed: Any) -> None:
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    with committed():
        sign_in(browser, "alice")
    assert len(created.calls) == 1
    call = created.calls[0]
    assert call["credential_id"] == public_id_of(browser)  # the row that now holds the session
    assert (call["sender"], call["kind"], call["user"], call["ip"]) == (
        Session,
        KIND_SESSION,
        user,
        "127.0.0.1",
    )


@pytest.mark.project  # signs in through /api/token/
def test_api_sign_in_announces_the_new_sign_in(user: Any, created: Receiver, committed: Any) -> None:
    with committed():
        response = APIClient().post("/api/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    sid = AccessToken(response.json()["access"])[FAMILY_CLAIM]
    assert RefreshToken(response.json()["refresh"])[FAMILY_CLAIM] == sid
    assert len(created.calls) == 1
    call = created.calls[0]
    assert (call["sender"], call["kind"], call["credential_id"]) == (SignInFamily, KIND_TOKEN, sid)
    assert (call["user"], call["ip"]) == (user, "127.0.0.1")
    assert SignInFamily.objects.get(pk=sid).user == user


# credential_revoked


def test_revoking_a_session_from_the_sessions_page(user: Any, revoked: Receiver, committed: Any) -> None:
    here, phone = signed_in(), signed_in()
    target = public_id_of(phone)
    with committed():
        assert here.post(f"/accounts/sessions/{target}/revoke/").status_code == 302
    assert revoked.calls == [
        {
            "sender": Session,
            "kind": KIND_SESSION,
            "user": user,
            "credential_id": target,
            "reason": "revoked by the user",
            "actor": user,
            "ip": "127.0.0.1",
        }
    ]


def test_signing_out_announces_the_end_of_the_session(user: Any, revoked: Receiver, committed: Any) -> None:
    browser = signed_in()
    target = public_id_of(browser)
    with committed():
        assert browser.post("/accounts/logout/").status_code == 302
    assert revoked.calls == [
        {
            "sender": Session,
            "kind": KIND_SESSION,
            "user": user,
            "credential_id": target,
            "reason": "signed out",
            "actor": user,
            "ip": "127.0.0.1",
        }
    ]
    assert not Session.objects.filter(public_id=target).exists()
    assert not RevocationEvent.objects.exists()  # signing out is not a revocation


def test_signing_out_without_a_session_announces_nothing(db: Any, revoked: Receiver, committed: Any) -> None:
    with committed():
        assert Client().post("/accounts/logout/").status_code == 302
    assert revoked.calls == []


@pytest.mark.project  # DELETE /api/me/sessions/{id}/
def test_revoking_a_session_through_the_api(user: Any, revoked: Receiver, committed: Any) -> None:
    browser = signed_in()
    target = public_id_of(browser)
    pair = make_family(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    with committed():
        assert api.delete(f"/api/me/sessions/{target}/").status_code == 204
    assert len(revoked.calls) == 1
    call = revoked.calls[0]
    assert (call["kind"], call["credential_id"], call["user"]) == (KIND_SESSION, target, user)
    assert (call["reason"], call["ip"]) == ("revoked by the user", "127.0.0.1")
    assert call["actor"] == user  # a user instance, though the request's user was a TokenUser


def test_sign_out_everywhere_announces_each_credential(user: Any, revoked: Receiver, committed: Any) -> None:
    browsers = [signed_in(), signed_in()]
    sessions = {public_id_of(b) for b in browsers}
    families = {str(make_family(user).family.pk) for _ in range(2)}
    operator = make_user("operator", is_staff=True)
    operator.user_permissions.set(
        Permission.objects.filter(codename__in=["view_user", "change_user", "revoke_session", "revoke_token"])
    )
    admin = Client()
    admin.force_login(operator)
    with committed():
        response = admin.post(
            f"/admin/auth/user/{user.pk}/sign-out-everywhere/", {"reason": "account stolen"}
        )
    assert response.status_code == 302
    assert len(revoked.calls) == 4
    assert revoked.ids() == sessions | families
    assert {call["kind"] for call in revoked.calls if call["credential_id"] in sessions} == {KIND_SESSION}
    assert {call["kind"] for call in revoked.calls if call["credential_id"] in families} == {KIND_TOKEN}
    for call in revoked.calls:
        assert (call["user"], call["actor"], call["reason"]) == (user, operator, "account stolen")
        assert call["sender"] is (Session if call["kind"] == KIND_SESSION else SignInFamily)


def test_reuse_detection_announces_the_revoked_sign_in(user: Any, revoked: Receiver, committed: Any) -> None:
    pair = make_family(user)
    family_rotate(raw_refresh=pair.refresh)
    with committed(), pytest.raises(FamilyError):
        family_rotate(raw_refresh=pair.refresh)  # replayed: the whole sign-in goes
    assert len(revoked.calls) == 1
    call = revoked.calls[0]
    assert (call["kind"], call["credential_id"], call["user"]) == (KIND_TOKEN, str(pair.family.pk), user)
    assert (call["reason"], call["actor"], call["ip"]) == ("reuse detected", None, None)


def test_password_change_announces_every_other_credential(
    user: Any, revoked: Receiver, committed: Any
) -> None:
    here, phone = signed_in(), signed_in()
    phone_id = public_id_of(phone)
    family_id = str(make_family(user).family.pk)
    with committed():
        response = here.post(
            "/accounts/password_change/",
            {
                "old_password": PASSWORD,
                "new_password1": "a-new-long-pass-7",
                "new_password2": "a-new-long-pass-7",
            },
        )
    assert response.status_code == 302
    assert revoked.ids() == {phone_id, family_id}  # not this browser's session
    for call in revoked.calls:
        assert (call["user"], call["actor"], call["reason"], call["ip"]) == (
            user,
            user,
            "password changed",
            "127.0.0.1",
        )


# Delivery: after commit only; a failing receiver harms nothing


def test_nothing_is_announced_when_the_transaction_rolls_back(
    transactional_db: Any, created: Receiver, revoked: Receiver
) -> None:
    user = make_user("alice")
    with pytest.raises(RuntimeError), transaction.atomic():
        pair = make_family(user)
        revocation.family_revoke(family=pair.family, actor=user, reason="changed my mind")
        raise RuntimeError("roll back")
    assert not SignInFamily.objects.exists()
    assert created.calls == [] and revoked.calls == []
    # The same work, committed, is announced (each service commits its own transaction here).
    pair = make_family(user)
    revocation.family_revoke(family=pair.family, actor=user, reason="changed my mind")
    assert created.ids() == revoked.ids() == {str(pair.family.pk)}


def test_a_failing_receiver_is_logged_and_the_revocation_stands(
    user: Any, revoked: Receiver, committed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> None:
        raise ValueError("receiver bug")

    credential_revoked.connect(broken, weak=False, dispatch_uid="tests.signals.broken")
    try:
        here, phone = signed_in(), signed_in()
        target = public_id_of(phone)
        with caplog.at_level(logging.ERROR, logger="accounts.signals"), committed():
            assert here.post(f"/accounts/sessions/{target}/revoke/").status_code == 302
    finally:
        credential_revoked.disconnect(dispatch_uid="tests.signals.broken")
    assert not Session.objects.filter(public_id=uuid.UUID(target)).exists()
    assert phone.get("/accounts/sessions/").status_code == 302  # signed out all the same
    assert revoked.ids() == {target}  # the other receivers still hear of it
    [record] = [r for r in caplog.records if r.name == "accounts.signals"]
    assert record.levelno == logging.ERROR
    assert target in record.getMessage()
    assert isinstance(record.exc_info[1], ValueError)
