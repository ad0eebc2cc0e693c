"""The only code that revokes credentials: browser sessions, API sign-in families, whole users.

Every function runs in one transaction (the emergency switch: a first one for the cutoff,
then one per batch), writes a RevocationEvent, bumps the revocation generation so every
app server stops accepting the revoked access tokens within the poll interval (see
revocation_state), and sends credential_revoked per credential after commit.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import selectors
from accounts.models import AccessCutoff, GlobalCutoff, RevocationEvent, Session, SignInFamily
from accounts.privacy import stored_ip
from accounts.services import notifications
from accounts.services.revocation_state import bump_generation
from accounts.signals import (
    KIND_REFRESH_TOKEN,
    KIND_SESSION,
    KIND_TOKEN,
    credential_revoked,
    send_after_commit,
)

Action = RevocationEvent.Action

# What one revocation ended: (model class, kind, public id) per credential, for credential_revoked.
Revoked = list[tuple[type, str, str]]

# The emergency switch revokes credentials in transactions of this many rows each.
EMERGENCY_BATCH_SIZE = 500
# ...except those issued this shortly before the cutoff, revoked in the cutoff's own transaction:
# the checks refuse by whole second (the cutoff's own second is left to this sweep), and a
# browser sign-in is stamped when its login request ends, a moment after its row was created.
EMERGENCY_RECENT = timedelta(minutes=1)


@transaction.atomic
def session_revoke(
    *, session: Session, actor: Any = None, reason: str = "", ip: str | None = None
) -> RevocationEvent:
    """End one browser session: its row and its cache entry go through the session engine."""
    _session_store_class()(session.session_key).delete()
    return _record(
        action=Action.SESSION,
        user=session.user,
        target=str(session.public_id),
        revoked=[(Session, KIND_SESSION, str(session.public_id))],
        actor=actor,
        reason=reason,
        ip=ip,
    )


def credential_revoke(
    *, user: Any, credential_id: str, actor: Any = None, reason: str = "", ip: str | None = None
) -> RevocationEvent | None:
    """Revoke one of the user's own sessions or sign-ins by its public id; None if not theirs."""
    try:
        uuid.UUID(str(credential_id))
    except ValueError:
        return None
    session = selectors.session_get(user=user, public_id=credential_id)
    if session is not None:
        return session_revoke(session=session, actor=actor, reason=reason, ip=ip)
    family = selectors.family_get(user=user, family_id=credential_id)
    if family is not None:
        return family_revoke(family=family, actor=actor, reason=reason, ip=ip)
    return None


@transaction.atomic
def family_revoke(
    *, family: SignInFamily, actor: Any = None, reason: str = "", ip: str | None = None
) -> RevocationEvent | None:
    """End one API sign-in: blacklist its refresh tokens and refuse its access tokens.

    Return None when the family was already revoked.
    """
    revoked = _revoke_families(SignInFamily.objects.filter(pk=family.pk), reason=reason)
    if not revoked:
        return None
    family.refresh_from_db(fields=["revoked_at", "revoke_reason"])
    return _record(
        action=Action.FAMILY,
        user=family.user,
        target=str(family.pk),
        revoked=revoked,
        actor=actor,
        reason=reason,
        ip=ip,
    )


@transaction.atomic
def refresh_tokens_blacklist(
    *, tokens: Iterable[OutstandingToken], actor: Any = None, reason: str = "", ip: str | None = None
) -> list[RevocationEvent]:
    """Blacklist refresh tokens; each token's whole sign-in family is revoked with it."""
    token_ids = [t.pk for t in tokens]
    # Tokens outside any sign-in family (issued before this project tracked families) are
    # audited one by one, by jti; the others through their family below.
    familyless = list(
        OutstandingToken.objects.filter(
            pk__in=token_ids, family_link__isnull=True, blacklistedtoken__isnull=True
        ).select_related("user")
    )
    _blacklist(OutstandingToken.objects.filter(pk__in=token_ids))
    events = [
        _record(
            action=Action.TOKEN,
            user=token.user,
            target=token.jti[:64],
            revoked=[(OutstandingToken, KIND_REFRESH_TOKEN, token.jti)],
            actor=actor,
            reason=reason,
            ip=ip,
        )
        for token in familyless
    ]
    families = SignInFamily.objects.filter(token_links__token_id__in=token_ids, revoked_at__isnull=True)
    for family in families.distinct().select_related("user"):
        events.append(
            _record(
                action=Action.TOKEN,
                user=family.user,
                target=str(family.pk),
                revoked=_revoke_families(SignInFamily.objects.filter(pk=family.pk), reason=reason),
                actor=actor,
                reason=reason,
                ip=ip,
            )
        )
    return events


@transaction.atomic
def user_sign_out_everywhere(
    *, user: Any, actor: Any = None, reason: str = "", ip: str | None = None
) -> RevocationEvent:
    """End every session and sign-in of the user and refuse every access token issued before now."""
    now = timezone.now()
    revoked = _delete_sessions(Session.objects.filter(user=user))
    revoked += _revoke_families(SignInFamily.objects.filter(user=user), reason=reason)
    AccessCutoff.objects.update_or_create(user=user, defaults={"not_before": now})
    return _record(
        action=Action.EVERYWHERE,
        user=user,
        target="",
        revoked=revoked,
        actor=actor,
        reason=reason,
        ip=ip,
    )


@transaction.atomic
def user_sign_out_others(
    *,
    user: Any,
    keep_session_key: str | None = None,
    keep_family_id: Any = None,
    actor: Any = None,
    reason: str = "",
    ip: str | None = None,
) -> RevocationEvent:
    """End every session and sign-in of the user except the current credential."""
    sessions = Session.objects.filter(user=user)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    families = SignInFamily.objects.filter(user=user)
    if keep_family_id:
        families = families.exclude(pk=keep_family_id)
    revoked = _delete_sessions(sessions) + _revoke_families(families, reason=reason)
    return _record(
        action=Action.OTHERS,
        user=user,
        target="",
        revoked=revoked,
        actor=actor,
        reason=reason,
        ip=ip,
    )


CAP_REASON = "credential cap reached"


@transaction.atomic(savepoint=False)  # part of the sign-in's transaction: no savepoint of its own
def user_credentials_cap(
    *,
    user: Any,
    limit: int,
    keep_session_id: str | None = None,
    keep_family_id: str | None = None,
    ip: str | None = None,
) -> RevocationEvent | None:
    """Revoke the user's oldest active credentials beyond `limit`, never the one just created.

    Run right after a sign-in, naming the new credential to keep. At user_logged_in time the
    new session row exists but its user column is only filled when the request ends, so the
    kept credential is counted explicitly (it is excluded from both queries, then added).
    Sessions and sign-ins are counted through their (user, expire) indexes. Return None when
    the user is within the cap (or `limit` is 0: no cap).
    """
    if limit <= 0:
        return None
    sessions, families = _active_credentials(user, keep_session_id, keep_family_id)
    if sessions.count() + families.count() + 1 <= limit:
        return None
    # Over the cap: serialise this user's cap checks, so two sign-ins at once do not both
    # revoke the same oldest credential (NO KEY UPDATE does not block inserting rows that
    # reference the user), and count again under the lock.
    get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    excess = sessions.count() + families.count() + 1 - limit
    if excess <= 0:
        return None
    oldest = sorted(
        [
            (created, KIND_SESSION, key)
            for key, created in sessions.values_list("session_key", "created_at")[:excess]
        ]
        + [(created, KIND_TOKEN, pk) for pk, created in families.values_list("pk", "created_at")[:excess]],
        key=lambda row: row[0],
    )[:excess]
    keys = [key for _, kind, key in oldest if kind == KIND_SESSION]
    family_ids = [pk for _, kind, pk in oldest if kind == KIND_TOKEN]
    revoked = _delete_sessions(Session.objects.filter(session_key__in=keys)) if keys else []
    if family_ids:
        revoked += _revoke_families(SignInFamily.objects.filter(pk__in=family_ids), reason=CAP_REASON)
    return _record(
        action=Action.CAP, user=user, target="", revoked=revoked, actor=None, reason=CAP_REASON, ip=ip
    )


def _active_credentials(
    user: Any, keep_session_id: str | None, keep_family_id: str | None
) -> tuple[QuerySet[Session], QuerySet[SignInFamily]]:
    """Return the user's other active sessions and sign-ins, oldest first."""
    now = timezone.now()
    sessions = Session.objects.filter(user=user, expire_date__gt=now)
    if keep_session_id:
        sessions = sessions.exclude(public_id=keep_session_id)
    families = SignInFamily.objects.filter(user=user, refresh_expires_at__gt=now, revoked_at__isnull=True)
    if keep_family_id:
        families = families.exclude(pk=keep_family_id)
    return sessions.order_by("created_at"), families.order_by("created_at")


def credentials_revoke_issued_before(
    *,
    before: datetime,
    actor: Any = None,
    reason: str = "",
    ip: str | None = None,
    batch_size: int = EMERGENCY_BATCH_SIZE,
) -> RevocationEvent:
    """The emergency switch: revoke every credential issued before `before`, for all users.

    A first short transaction records a GlobalCutoff and bumps the generation: from its
    commit every server refuses browser sessions signed in, and access and refresh tokens
    of API sign-ins started, before the cutoff's second. Then every active session and
    sign-in created before `before` is revoked, `batch_size` per transaction, so memory
    and lock time stay bounded on any table size. One EMERGENCY event counts them all.
    Raise ValueError for a naive or future time.
    """
    if timezone.is_naive(before):
        raise ValueError("The time must include a time zone.")
    if before > timezone.now():
        raise ValueError(
            f"The time {before.isoformat()} is in the future: only credentials already issued can be revoked."
        )
    if not getattr(actor, "is_authenticated", False):
        actor = None
    reason = reason[:200]
    announce = {"actor": actor, "reason": reason, "ip": ip}
    recent = before - EMERGENCY_RECENT
    with transaction.atomic():
        GlobalCutoff.objects.create(not_before=before, actor=actor, reason=reason)
        bump_generation()
        count = _sweep_sessions(since=recent, until=before, batch_size=batch_size, **announce)
        count += _sweep_families(since=recent, until=before, batch_size=batch_size, **announce)
    count += _sweep_sessions(since=None, until=recent, batch_size=batch_size, **announce)
    count += _sweep_families(since=None, until=recent, batch_size=batch_size, **announce)
    with transaction.atomic():
        return _record(action=Action.EMERGENCY, user=None, target="", revoked=[], count=count, **announce)


def credentials_issued_before_count(*, before: datetime) -> tuple[int, int]:
    """Return how many active browser sessions and API sign-ins were created before `before`."""
    return _active_sessions(before).count(), _active_families(before).count()


def _active_sessions(until: datetime) -> QuerySet[Session]:
    return Session.objects.filter(created_at__lt=until, expire_date__gt=timezone.now())


def _active_families(until: datetime) -> QuerySet[SignInFamily]:
    return SignInFamily.objects.filter(
        created_at__lt=until, revoked_at__isnull=True, refresh_expires_at__gt=timezone.now()
    )


def _batches(qs: QuerySet, *, since: datetime | None, batch_size: int, fields: tuple[str, ...]):
    """Yield rows of `qs` in (created_at, pk) order, `batch_size` at a time, resuming after the last."""
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    last = None
    while True:
        page = (
            qs
            if last is None
            else qs.filter(Q(created_at__gt=last[0]) | Q(created_at=last[0], pk__gt=last[1]))
        )
        rows = list(page.order_by("created_at", "pk").values_list("created_at", "pk", *fields)[:batch_size])
        if not rows:
            return
        last = rows[-1]
        yield rows


def _sweep_sessions(*, since: datetime | None, until: datetime, batch_size: int, **announce: Any) -> int:
    count = 0
    for rows in _batches(
        _active_sessions(until), since=since, batch_size=batch_size, fields=("public_id", "user_id")
    ):
        owners = _owners({str(public_id): user_id for _, _, public_id, user_id in rows})
        with transaction.atomic():  # a savepoint inside the cutoff's transaction
            revoked = _delete_sessions(Session.objects.filter(pk__in=[pk for _, pk, _, _ in rows]))
            # Anonymous sessions (nobody signed in) go too, but they are no one's credential.
            revoked = [r for r in revoked if owners.get(r[2]) is not None]
            _announce(revoked, owners, **announce)
        count += len(revoked)
    return count


def _sweep_families(*, since: datetime | None, until: datetime, batch_size: int, **announce: Any) -> int:
    count = 0
    for rows in _batches(_active_families(until), since=since, batch_size=batch_size, fields=("user_id",)):
        owners = _owners({str(pk): user_id for _, pk, user_id in rows})
        with transaction.atomic():  # a savepoint inside the cutoff's transaction
            revoked = _revoke_families(
                SignInFamily.objects.filter(pk__in=[pk for _, pk, _ in rows]), reason=announce["reason"]
            )
            _announce(revoked, owners, **announce)
        count += len(revoked)
    return count


def refresh_token_consume(token: OutstandingToken) -> bool:
    """Blacklist a refresh token being rotated; False when it was already used.

    Run inside the rotating transaction, after locking the token row: the unique
    BlacklistedToken row is the claim, so of two concurrent rotations one wins.
    """
    _, created = BlacklistedToken.objects.get_or_create(token=token)
    return created


def _revoke_families(families: QuerySet[SignInFamily], *, reason: str) -> Revoked:
    """Mark active families revoked and blacklist their refresh tokens; return which."""
    ids = list(families.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    if not ids:
        return []
    SignInFamily.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason[:200]
    )
    _blacklist(OutstandingToken.objects.filter(family_link__family_id__in=ids))
    return [(SignInFamily, KIND_TOKEN, str(pk)) for pk in ids]


def _blacklist(tokens: QuerySet[OutstandingToken]) -> None:
    fresh = tokens.filter(blacklistedtoken__isnull=True).values_list("pk", flat=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in fresh], ignore_conflicts=True
    )


def _delete_sessions(sessions: QuerySet[Session]) -> Revoked:
    """Delete session rows and, with the cached_db engine, their cache entries; return which."""
    rows = list(sessions.values_list("session_key", "public_id"))
    if not rows:
        return []
    keys = [key for key, _ in rows]
    Session.objects.filter(session_key__in=keys).delete()
    prefix = getattr(_session_store_class(), "cache_key_prefix", None)
    if prefix:
        caches[settings.SESSION_CACHE_ALIAS].delete_many([prefix + k for k in keys])
    return [(Session, KIND_SESSION, str(public_id)) for _, public_id in rows]


def _owners(user_ids: dict[str, Any]) -> dict[str, Any]:
    """Map credential ids to their owners' user instances (None for an anonymous session)."""
    users = get_user_model()._default_manager.in_bulk({u for u in user_ids.values() if u is not None})
    return {credential_id: users.get(user_id) for credential_id, user_id in user_ids.items()}


def _announce(revoked: Revoked, owners: dict[str, Any], *, actor: Any, reason: str, ip: str | None) -> None:
    """Send credential_revoked after commit for credentials of several users (the emergency sweep)."""
    for sender, kind, credential_id in revoked:
        send_after_commit(
            credential_revoked,
            sender=sender,
            kind=kind,
            user=owners.get(credential_id),
            credential_id=credential_id,
            reason=reason,
            actor=actor,
            ip=stored_ip(ip),
        )


def _session_store_class() -> type[SessionBase]:
    return import_module(settings.SESSION_ENGINE).SessionStore


def _record(
    *,
    action: str,
    user: Any,
    target: str,
    revoked: Revoked,
    actor: Any,
    reason: str,
    ip: str | None,
    count: int | None = None,
) -> RevocationEvent:
    """Bump the generation, write the audit event, and announce each credential after commit.

    `count` overrides len(revoked) when the credentials were announced batch by batch.
    """
    bump_generation()
    if not getattr(actor, "is_authenticated", False):
        actor = None
    elif not isinstance(actor, get_user_model()):  # e.g. SimpleJWT's TokenUser: only the id
        actor = get_user_model()._default_manager.filter(pk=actor.pk).first()
    event = RevocationEvent.objects.create(
        action=action,
        user_id=getattr(user, "pk", None),
        target=target,
        count=len(revoked) if count is None else count,
        actor_id=getattr(actor, "pk", None),
        reason=reason[:200],
        ip=stored_ip(ip),
    )
    for sender, kind, credential_id in revoked:
        send_after_commit(
            credential_revoked,
            sender=sender,
            kind=kind,
            user=user,
            credential_id=credential_id,
            reason=event.reason,
            actor=actor,
            ip=event.ip,
        )
    notifications.revocation_alert(
        user=user, actor=actor, count=event.count, kinds=[kind for _, kind, _ in revoked], reason=event.reason
    )
    return event
