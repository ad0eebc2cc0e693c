"""Purge credentials that can no longer matter, and personal data past its retention window.

What goes (docs/privacy.md), in small batches (no long table locks):
- expired browser sessions, refresh tokens (SimpleJWT's outstanding rows with their blacklist
  rows and family links) and sign-in families, CREDENTIAL_RETENTION_DAYS after they expired
  (0: at expiry). An access token never outlives its family's refresh expiry, so nothing of
  theirs is still accepted;
- revoked sign-in families, CREDENTIAL_RETENTION_DAYS after the revocation but never before
  one access-token lifetime (plus leeway) has passed: the revocation snapshot
  (revocation_state) must list them until their last access token has expired;
- "signed out everywhere" cutoffs older than the refresh lifetime;
- audit events (RevocationEvent) older than AUDIT_RETENTION_DAYS and known devices not seen
  for KNOWN_DEVICE_RETENTION_DAYS; for these two, 0 means keep forever.
Emergency cutoffs (GlobalCutoff) are kept. Each batch is one short transaction deleting at
most `batch_size` rows of a primary-key range.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.conf import accounts_settings
from accounts.models import (
    AccessCutoff,
    FamilyToken,
    KnownDevice,
    RevocationEvent,
    Session,
    SignInFamily,
)

Progress = Callable[[str, int], None]


@dataclass
class PurgeResult:
    counts: dict[str, int] = field(default_factory=dict)
    kept_forever: list[str] = field(default_factory=list)  # kinds whose retention is 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def retention_days(name: str) -> int:
    """Return a retention setting (whole days, 0 or more); raise ImproperlyConfigured otherwise."""
    value = getattr(accounts_settings, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(
            f"ACCOUNTS[{name!r}] must be a whole number of days, 0 or more (got {value!r})."
        )
    return value


def revocation_window() -> timedelta:
    """How long a revoked family must stay listed: its last access token's life, plus leeway.

    The same horizon as revocation_state's snapshot (one access-token lifetime, the
    leeway, and the second that `iat` rounds away).
    """
    s = jwt_settings.api_settings
    leeway = s.LEEWAY if isinstance(s.LEEWAY, timedelta) else timedelta(seconds=s.LEEWAY or 0)
    return s.ACCESS_TOKEN_LIFETIME + leeway + timedelta(seconds=1)


def credentials_purge(
    *, batch_size: int = 5000, dry_run: bool = False, progress: Progress | None = None
) -> PurgeResult:
    """Delete (or, with dry_run, count) every row past its retention; return counts per kind.

    Raise ImproperlyConfigured, before deleting anything, when a retention setting is invalid.
    """
    credential_days = retention_days("CREDENTIAL_RETENTION_DAYS")
    audit_days = retention_days("AUDIT_RETENTION_DAYS")
    device_days = retention_days("KNOWN_DEVICE_RETENTION_DAYS")
    now = timezone.now()
    ended = now - timedelta(days=credential_days)
    revoked = now - max(timedelta(days=credential_days), revocation_window())
    cutoff_horizon = now - jwt_settings.api_settings.REFRESH_TOKEN_LIFETIME
    result = PurgeResult()
    families = SignInFamily.objects.filter(Q(refresh_expires_at__lt=ended) | Q(revoked_at__lt=revoked))
    kinds: list[tuple[str, QuerySet, Callable[[QuerySet], int]]] = [
        ("sessions", Session.objects.filter(expire_date__lt=ended), _raw_delete),
        ("refresh tokens", OutstandingToken.objects.filter(expires_at__lt=ended), _delete_tokens),
        ("sign-in families", families, _delete_families),
        ("access cutoffs", AccessCutoff.objects.filter(not_before__lt=cutoff_horizon), _raw_delete),
    ]
    for name, days, model, column in (
        ("audit events", audit_days, RevocationEvent, "created_at"),
        ("known devices", device_days, KnownDevice, "last_seen"),
    ):
        if days:
            horizon = now - timedelta(days=days)
            kinds.append((name, model.objects.filter(**{f"{column}__lt": horizon}), _raw_delete))
        else:
            result.kept_forever.append(name)
    for name, queryset, delete in kinds:
        if dry_run:
            result.counts[name] = queryset.count()  # rows of the kind itself, not its children
            if progress:
                progress(name, result.counts[name])
            continue
        done, lower = 0, None
        while True:
            # Keyset batches by primary key range: find where this batch ends, then delete the
            # matching rows up to there. Each batch starts where the last one ended (no re-reading
            # of deleted index entries), and no list of keys travels to the database and back.
            page = queryset if lower is None else queryset.filter(pk__gt=lower)
            upper = _batch_end(page, batch_size)
            if upper is None:
                break
            with transaction.atomic():
                done += delete(page.filter(pk__lte=upper))
            lower = upper
            if progress:
                progress(name, done)
        if progress and done == 0:
            progress(name, 0)  # every kind is reported, even with nothing to purge
        result.counts[name] = done
    return result


def _batch_end(page: QuerySet, batch_size: int) -> Any:
    """Primary key of the batch_size-th row of the page (or its last row); None when empty."""
    keys = page.order_by("pk").values_list("pk", flat=True)
    found = list(keys[batch_size - 1 : batch_size])
    return found[0] if found else keys.order_by("-pk").first()


def _delete_tokens(batch: QuerySet) -> int:
    """Delete outstanding tokens with their blacklist rows and family links, children first."""
    return (
        _raw_delete(BlacklistedToken.objects.filter(token__in=batch))
        + _raw_delete(FamilyToken.objects.filter(token__in=batch))
        + _raw_delete(batch)
    )


def _delete_families(batch: QuerySet) -> int:
    token_ids = list(FamilyToken.objects.filter(family__in=batch).values_list("token_id", flat=True))
    # An expired family has normally none left (its refresh tokens expire no later than it);
    # a revoked one may: they go with it, and a purged token is refused as unknown.
    count = _delete_tokens(OutstandingToken.objects.filter(pk__in=token_ids)) if token_ids else 0
    return count + _raw_delete(batch)


def _raw_delete(queryset: QuerySet) -> int:
    """One DELETE ... WHERE <the batch's conditions>, without loading rows or sending signals.

    QuerySet.delete() would load every row of a model that others reference and delete it in
    chunks of 100; this purge deletes children explicitly first, so one statement per table does.
    """
    return queryset._raw_delete(queryset.db)
