"""Purge credentials that can no longer matter, in small batches (no long table locks).

What goes: expired browser sessions; expired refresh tokens (SimpleJWT's outstanding
rows with their blacklist rows and family links); expired sign-in families (an access
token never outlives its family's refresh expiry, so nothing of theirs is still
accepted); and "signed out everywhere" cutoffs older than the refresh lifetime.
Each batch is one short transaction deleting at most `batch_size` rows of a primary-key range.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import AccessCutoff, FamilyToken, Session, SignInFamily

Progress = Callable[[str, int], None]


@dataclass
class PurgeResult:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def credentials_purge(
    *, batch_size: int = 5000, dry_run: bool = False, progress: Progress | None = None
) -> PurgeResult:
    """Delete (or, with dry_run, count) every expired credential row; return counts per kind."""
    now = timezone.now()
    cutoff_horizon = now - jwt_settings.api_settings.REFRESH_TOKEN_LIFETIME
    result = PurgeResult()
    kinds: list[tuple[str, QuerySet, Callable[[QuerySet], int]]] = [
        ("sessions", Session.objects.filter(expire_date__lt=now), _delete_sessions),
        ("refresh tokens", OutstandingToken.objects.filter(expires_at__lt=now), _delete_tokens),
        ("sign-in families", SignInFamily.objects.filter(refresh_expires_at__lt=now), _delete_families),
        ("access cutoffs", AccessCutoff.objects.filter(not_before__lt=cutoff_horizon), _delete_cutoffs),
    ]
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
        result.counts[name] = done
    return result


def _batch_end(page: QuerySet, batch_size: int) -> Any:
    """Primary key of the batch_size-th row of the page (or its last row); None when empty."""
    keys = page.order_by("pk").values_list("pk", flat=True)
    found = list(keys[batch_size - 1 : batch_size])
    return found[0] if found else keys.order_by("-pk").first()


def _delete_sessions(batch: QuerySet) -> int:
    return _raw_delete(batch)


def _delete_tokens(batch: QuerySet) -> int:
    """Delete outstanding tokens with their blacklist rows and family links, children first."""
    return (
        _raw_delete(BlacklistedToken.objects.filter(token__in=batch))
        + _raw_delete(FamilyToken.objects.filter(token__in=batch))
        + _raw_delete(batch)
    )


def _delete_families(batch: QuerySet) -> int:
    token_ids = list(FamilyToken.objects.filter(family__in=batch).values_list("token_id", flat=True))
    # Normally none are left: a family's refresh tokens expire no later than the family.
    count = _delete_tokens(OutstandingToken.objects.filter(pk__in=token_ids)) if token_ids else 0
    return count + _raw_delete(batch)


def _delete_cutoffs(batch: QuerySet) -> int:
    return _raw_delete(batch)


def _raw_delete(queryset: QuerySet) -> int:
    """One DELETE ... WHERE <the batch's conditions>, without loading rows or sending signals.

    QuerySet.delete() would load every row of a model that others reference and delete it in
    chunks of 100; this purge deletes children explicitly first, so one statement per table does.
    """
    return queryset._raw_delete(queryset.db)
