"""Revocation state as each process sees it: the database is the truth, Redis the fast path.

Every revocation bumps a generation counter in the database and, once committed,
publishes it to the cache. Each process keeps a snapshot of the revoked sign-in
families and "signed out everywhere" cutoffs of the last access-token lifetime,
plus the emergency switch's global cutoff (accounts.models.GlobalCutoff), and
checks at most REVOCATION_POLL_INTERVAL after its last check whether the
generation moved (one cache GET, or a database read when the cache has nothing
or is down). So a check is a few dictionary lookups, and a revocation made on
any server is honoured everywhere within the poll interval plus one reload.
"""

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from time import monotonic

from django.core.cache import BaseCache, caches
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt import settings as jwt_settings

from accounts.conf import accounts_settings
from accounts.models import AccessCutoff, GlobalCutoff, RevocationGeneration, SignInFamily

GENERATION_KEY = "accounts:revocation:generation"


@dataclass(frozen=True)
class Snapshot:
    db_generation: int
    published: int | None  # the cache value this snapshot answers to
    families: frozenset[str]
    # user id -> the cutoff's whole second: a token whose `iat` second is earlier is refused.
    # Tokens issued within the cutoff's own second are left to the family sweep that set the
    # cutoff (it revoked every family then committed), so a sign-in made just after a
    # sign-out-everywhere is not refused for the rest of that second.
    cutoffs: dict[str, int]
    # The latest emergency switch's whole second, for every user and credential (same rule).
    global_cutoff: int | None
    checked_at: float
    reconciled_at: float


class RevocationState:
    """One process's view of the revocation state."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def is_access_revoked(self, *, family_id: str, user_id: str, issued_at: int) -> bool:
        snap = self._current(reconcile=True)
        if family_id in snap.families:
            return True
        if snap.global_cutoff is not None and issued_at < snap.global_cutoff:
            return True
        cutoff = snap.cutoffs.get(user_id)
        return cutoff is not None and issued_at < cutoff

    def global_cutoff(self) -> int | None:
        """Return the emergency switch's cutoff (unix second; earlier credentials are refused) or None.

        For the browser-session check of every request: it never reconciles with the
        database by itself (the access-token checks do), so while the published
        generation is unchanged it costs no query, only a cache read per poll interval.
        """
        return self._current(reconcile=False).global_cutoff

    def _current(self, *, reconcile: bool) -> Snapshot:
        snap = self._snapshot
        if snap is None or monotonic() - snap.checked_at >= accounts_settings.REVOCATION_POLL_INTERVAL:
            snap = self._refresh(snap, reconcile=reconcile)
        return snap

    def invalidate(self) -> None:
        """Drop the snapshot so this process reloads on its next check."""
        self._snapshot = None

    def _refresh(self, seen: Snapshot | None, *, reconcile: bool = True) -> Snapshot:
        with self._lock:
            if self._snapshot is not seen and self._snapshot is not None:
                return self._snapshot  # another thread refreshed meanwhile
            now = monotonic()
            published = _read_published()
            if seen is not None and published is not None and published == seen.published:
                if (
                    not reconcile
                    or now - seen.reconciled_at < accounts_settings.REVOCATION_RECONCILE_INTERVAL
                ):
                    snap = replace(seen, checked_at=now)
                elif _db_generation() == seen.db_generation:
                    snap = replace(seen, checked_at=now, reconciled_at=now)
                else:
                    snap = _load(published, now)
            elif (
                not reconcile
                and seen is not None
                and published is not None
                and published == seen.db_generation
            ):
                # The cache caught up with the generation this snapshot was loaded at (e.g. the
                # value restored after a load from the database): nothing new, so no query for
                # the session check. The access-token check reloads here, which also reconciles.
                snap = replace(seen, published=published, checked_at=now)
            elif published is None and seen is not None and _db_generation() == seen.db_generation:
                # Cache empty or down: the database says nothing changed.
                snap = replace(seen, checked_at=now, reconciled_at=now)
                _restore_published(seen.db_generation)
            else:
                snap = _load(published, now)
                if published is None:
                    _restore_published(snap.db_generation)
            self._snapshot = snap
            return snap


state = RevocationState()


def bump_generation() -> int:
    """Count one revocation (inside the revoking transaction) and publish it after commit."""
    RevocationGeneration.objects.get_or_create(pk=1)
    gen = RevocationGeneration.objects.select_for_update().get(pk=1)
    gen.value += 1
    gen.save(update_fields=["value"])
    value = gen.value
    # Invalidate now (so this connection's own next check sees it, even inside a test
    # transaction) and again after commit; publish only once others can read the rows.
    state.invalidate()
    transaction.on_commit(lambda: _publish(value), robust=True)
    return value


def _publish(value: int) -> None:
    state.invalidate()
    cache = _cache()
    if cache is not None:
        cache.set(GENERATION_KEY, value, timeout=None)


def _restore_published(value: int) -> None:
    """Put the generation back into an emptied cache, so the fast path resumes by itself.

    `value` was read from the database a moment ago. If a revocation committed since then
    and its own publish was lost, the restored value would be stale and could hide that
    revocation from processes whose snapshot answers to it; so check again and, if the
    database moved on, remove the key (everyone then asks the database, and restores it).
    """
    cache = _cache()
    if cache is not None and cache.add(GENERATION_KEY, value, timeout=None) and _db_generation() != value:
        cache.delete(GENERATION_KEY)


def _cache() -> BaseCache | None:
    alias = accounts_settings.REVOCATION_CACHE_ALIAS
    return caches[alias] if alias else None


def _read_published() -> int | None:
    cache = _cache()
    if cache is None:
        return None
    value = cache.get(GENERATION_KEY)  # None when missing or when the cache is down
    return value if isinstance(value, int) else None


def _db_generation() -> int:
    value = RevocationGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
    return value or 0


def _load(published: int | None, now: float) -> Snapshot:
    db_generation = _db_generation()
    s = jwt_settings.api_settings
    leeway = s.LEEWAY if isinstance(s.LEEWAY, timedelta) else timedelta(seconds=s.LEEWAY or 0)
    # Anything revoked longer ago than one access-token lifetime has no live access token left.
    horizon = timezone.now() - s.ACCESS_TOKEN_LIFETIME - leeway - timedelta(seconds=1)
    latest = GlobalCutoff.objects.order_by("-not_before").values_list("not_before", flat=True).first()
    global_cutoff = int(latest.timestamp()) if latest is not None else None
    revoked = SignInFamily.objects.filter(revoked_at__gte=horizon)
    if global_cutoff is not None:
        # A family last used (so last issued a token) before the global cutoff's second is
        # refused by it already: leaving those out keeps the snapshot small after the switch
        # revoked every family at once.
        revoked = revoked.exclude(last_used_at__lt=datetime.fromtimestamp(global_cutoff, tz=UTC))
    families = frozenset(str(pk) for pk in revoked.values_list("pk", flat=True))
    cutoffs = {
        str(user_id): int(not_before.timestamp())
        for user_id, not_before in AccessCutoff.objects.filter(not_before__gte=horizon).values_list(
            "user_id", "not_before"
        )
    }
    return Snapshot(db_generation, published, families, cutoffs, global_cutoff, now, now)
