"""Retention windows of purge_credentials: what goes just outside each window, what stays just inside."""

from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import (
    FamilyToken,
    GlobalCutoff,
    KnownDevice,
    RevocationEvent,
    Session,
    SignInFamily,
)
from accounts.services import revocation
from tests.conftest import BROWSER_UA, sign_in
from tests.factories import make_family, make_user

pytestmark = pytest.mark.usefixtures("fast_hasher")

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ACCESS = timedelta(seconds=300)  # JWT_ACCESS_TOKEN_LIFETIME default


def configure(settings: Any, **accounts: Any) -> None:
    settings.ACCOUNTS = {**getattr(django_settings, "ACCOUNTS", {}), **accounts}


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_credentials", *args, stdout=out)
    return out.getvalue()


def rotate(refresh: str) -> Any:
    return APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")


def me(access: str) -> Any:
    return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def signed_in_session(username: str) -> Session:
    browser = Client(HTTP_USER_AGENT=BROWSER_UA)
    sign_in(browser, username)
    return Session.objects.get(session_key=browser.cookies[django_settings.SESSION_COOKIE_NAME].value)


def family_ended_at(pair: Any, when: datetime) -> None:
    """Make a family (and its refresh tokens) expire at `when`."""
    SignInFamily.objects.filter(pk=pair.family.pk).update(refresh_expires_at=when, expires_at=when)
    OutstandingToken.objects.filter(family_link__family=pair.family).update(expires_at=when)


def family_revoked_at(pair: Any, when: datetime) -> None:
    revocation.family_revoke(family=pair.family, reason="test")
    SignInFamily.objects.filter(pk=pair.family.pk).update(revoked_at=when)


def audit_event_at(user: Any, when: datetime) -> RevocationEvent:
    event = revocation.user_sign_out_others(user=user, reason="test")
    RevocationEvent.objects.filter(pk=event.pk).update(created_at=when)
    return event


def known_device_seen_at(user: Any, device: str, when: datetime) -> KnownDevice:
    return KnownDevice.objects.create(
        user=user, device=device, network="203.0.113.0/24", first_seen=when, last_seen=when
    )


@pytest.fixture
def world(settings: Any, db: Any) -> dict[str, Any]:
    """Rows of every kind just inside and just outside 7 / 30 / 10 days of retention."""
    configure(settings, CREDENTIAL_RETENTION_DAYS=7, AUDIT_RETENTION_DAYS=30, KNOWN_DEVICE_RETENTION_DAYS=10)
    alice, bob = make_user("alice"), make_user("bob")
    now = timezone.now()
    w: dict[str, Any] = {"alice": alice}
    w["session_live"] = signed_in_session("alice")
    w["session_in"], w["session_out"] = signed_in_session("alice"), signed_in_session("alice")
    Session.objects.filter(pk=w["session_in"].pk).update(expire_date=now - 7 * DAY + HOUR)
    Session.objects.filter(pk=w["session_out"].pk).update(expire_date=now - 7 * DAY - HOUR)
    w["family_live"] = make_family(alice)
    w["expired_in"], w["expired_out"] = make_family(alice), make_family(alice)
    family_ended_at(w["expired_in"], now - 7 * DAY + HOUR)
    family_ended_at(w["expired_out"], now - 7 * DAY - HOUR)
    w["revoked_in"], w["revoked_out"] = make_family(alice), make_family(alice)
    family_revoked_at(w["revoked_in"], now - 7 * DAY + HOUR)
    family_revoked_at(w["revoked_out"], now - 7 * DAY - HOUR)
    w["event_in"] = audit_event_at(bob, now - 30 * DAY + HOUR)
    w["event_out"] = audit_event_at(bob, now - 30 * DAY - HOUR)
    w["device_in"] = known_device_seen_at(alice, "Firefox 121 on Linux", now - 10 * DAY + HOUR)
    w["device_out"] = known_device_seen_at(alice, "Chrome 120 on Windows 10", now - 10 * DAY - HOUR)
    w["global_cutoff"] = GlobalCutoff.objects.create(not_before=now - 1000 * DAY, reason="old key leak")
    GlobalCutoff.objects.filter(pk=w["global_cutoff"].pk).update(created_at=now - 1000 * DAY)
    return w


def family_ids() -> set[Any]:
    return set(SignInFamily.objects.values_list("pk", flat=True))


def test_purge_removes_exactly_the_rows_outside_each_window(world: dict[str, Any]) -> None:
    out = purge()

    assert set(Session.objects.values_list("pk", flat=True)) == {
        world["session_live"].pk,
        world["session_in"].pk,
    }
    assert family_ids() == {world[k].family.pk for k in ("family_live", "expired_in", "revoked_in")}
    # Each kept family keeps its refresh token row; the purged ones' rows went with them.
    assert set(FamilyToken.objects.values_list("family_id", flat=True)) == family_ids()
    assert OutstandingToken.objects.count() == 3
    assert set(BlacklistedToken.objects.values_list("token__family_link__family_id", flat=True)) == {
        world["revoked_in"].family.pk
    }
    events = set(RevocationEvent.objects.values_list("pk", flat=True))
    assert world["event_in"].pk in events and world["event_out"].pk not in events
    devices = set(KnownDevice.objects.values_list("pk", flat=True))
    assert world["device_in"].pk in devices and world["device_out"].pk not in devices
    assert GlobalCutoff.objects.filter(pk=world["global_cutoff"].pk).exists()

    assert "sessions: purged 1 (" in out
    # expired_out's token with its family link
    assert "refresh tokens: purged 2 (" in out
    # expired_out (its token already gone); revoked_out with its token, link and blacklist row
    assert "sign-in families: purged 5 (" in out
    assert "access cutoffs: purged 0 (" in out
    assert "audit events: purged 1 (" in out
    assert "known devices: purged 1 (" in out
    assert "Done: purged 10 rows in " in out


def test_purged_refresh_tokens_are_refused_and_the_kept_ones_behave_as_before(world: dict[str, Any]) -> None:
    purge()
    # Their JWTs are still unexpired (only the rows were moved back in time): the purge alone
    # must make them unknown, and an unknown refresh token is refused.
    for gone in ("revoked_out", "expired_out"):
        response = rotate(world[gone].refresh)
        assert response.status_code == 401, gone
        assert response.json()["code"] == "token_not_valid"
    assert rotate(world["revoked_in"].refresh).status_code == 401  # still revoked
    assert rotate(world["family_live"].refresh).status_code == 200
    assert not SignInFamily.objects.filter(pk__in=[world["revoked_out"].family.pk]).exists()


def test_dry_run_reports_every_kind_and_deletes_nothing(world: dict[str, Any]) -> None:
    counts = (Session.objects.count(), SignInFamily.objects.count(), RevocationEvent.objects.count())
    devices = KnownDevice.objects.count()
    out = purge("--dry-run")
    for line in (
        "sessions: would purge 1",
        "refresh tokens: would purge 1",
        "sign-in families: would purge 2",
        "access cutoffs: would purge 0",
        "audit events: would purge 1",
        "known devices: would purge 1",
    ):
        assert line in out
    assert "Done: would purge 6 rows in " in out
    assert (Session.objects.count(), SignInFamily.objects.count(), RevocationEvent.objects.count()) == counts
    assert KnownDevice.objects.count() == devices


def test_zero_keeps_audit_events_and_known_devices_forever(settings: Any, user: Any) -> None:
    configure(settings, AUDIT_RETENTION_DAYS=0, KNOWN_DEVICE_RETENTION_DAYS=0, CREDENTIAL_RETENTION_DAYS=0)
    event = audit_event_at(user, timezone.now() - 3650 * DAY)
    device = known_device_seen_at(user, "Firefox 121 on Linux", timezone.now() - 3650 * DAY)
    expired = make_family(user)
    family_ended_at(expired, timezone.now() - timedelta(minutes=1))  # 0 days: purged at expiry

    out = purge()

    assert RevocationEvent.objects.filter(pk=event.pk).exists()
    assert KnownDevice.objects.filter(pk=device.pk).exists()
    assert not SignInFamily.objects.filter(pk=expired.family.pk).exists()
    assert "audit events: kept forever (retention 0)" in out
    assert "known devices: kept forever (retention 0)" in out
    assert "sign-in families: purged 1 (" in out


class TestRevokedFamilyAccessWindow:
    """A revoked family stays until its last access token has expired, even with 0 days of retention."""

    def test_a_family_revoked_inside_the_window_survives_and_stays_refused(self, user: Any) -> None:
        just_revoked, long_revoked = make_family(user), make_family(user)
        family_revoked_at(just_revoked, timezone.now())
        family_revoked_at(long_revoked, timezone.now() - ACCESS - timedelta(seconds=30))

        out = purge()

        assert family_ids() == {just_revoked.family.pk}
        assert "sign-in families: purged 4 (" in out  # the family, its token, link and blacklist row
        response = me(just_revoked.access)
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
        assert rotate(just_revoked.refresh).status_code == 401
        assert rotate(long_revoked.refresh).status_code == 401

    @pytest.mark.parametrize(("leeway", "kept"), [(0, False), (60, True)])
    def test_the_window_includes_the_leeway(self, settings: Any, user: Any, leeway: int, kept: bool) -> None:
        settings.SIMPLE_JWT = {**django_settings.SIMPLE_JWT, "LEEWAY": leeway}
        pair = make_family(user)
        family_revoked_at(pair, timezone.now() - ACCESS - timedelta(seconds=30))
        purge()
        assert SignInFamily.objects.filter(pk=pair.family.pk).exists() is kept

    def test_retention_longer_than_the_window_applies_to_revoked_families(
        self, settings: Any, user: Any
    ) -> None:
        configure(settings, CREDENTIAL_RETENTION_DAYS=1)
        pair = make_family(user)
        family_revoked_at(pair, timezone.now() - ACCESS - HOUR)
        purge()
        assert SignInFamily.objects.filter(pk=pair.family.pk).exists()
        assert rotate(pair.refresh).status_code == 401


@pytest.mark.parametrize(
    "name", ["CREDENTIAL_RETENTION_DAYS", "AUDIT_RETENTION_DAYS", "KNOWN_DEVICE_RETENTION_DAYS"]
)
def test_a_negative_retention_is_a_clear_error_and_nothing_is_deleted(
    settings: Any, user: Any, name: str
) -> None:
    configure(settings, **{name: -1})
    expired = make_family(user)
    family_ended_at(expired, timezone.now() - 400 * DAY)
    with pytest.raises(CommandError, match=f"{name}.*0 or more"):
        purge()
    with pytest.raises(CommandError, match=name):
        purge("--dry-run")
    assert SignInFamily.objects.filter(pk=expired.family.pk).exists()
