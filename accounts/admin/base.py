"""Shared admin pieces: a paginator without full COUNT(*), fast search, links, revoke confirmation."""

import ipaddress
import uuid
from collections.abc import Callable, Iterable
from functools import cached_property, lru_cache
from math import ceil
from operator import attrgetter
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from accounts.models import RevocationEvent

# The changelist never counts more rows than this, and never pages past it (100 pages of 50).
COUNT_CAP = 5_000
# A bulk revocation handles at most this many credentials per confirmation.
MAX_REVOKE = 1_000
# Rows listed on a confirmation page (the rest are counted).
CONFIRM_LISTED = 100
# A search by username prefix or email looks at this many matching users at most.
USER_MATCH_LIMIT = 100


class CappedCountPaginator(Paginator):
    """Count without scanning a big table: planner estimate when unfiltered, capped count otherwise.

    Pages stop at COUNT_CAP rows, so a deep OFFSET never scans the table either.
    """

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return super().count
        if not qs.query.where:
            estimate = _estimated_rows(qs)
            if estimate is not None and estimate > COUNT_CAP:
                return estimate
        return qs.order_by().values("pk")[: COUNT_CAP + 1].count()

    @cached_property
    def num_pages(self) -> int:
        pages = ceil(max(1, self.count - self.orphans) / self.per_page) if self.count else 0
        if not pages and self.allow_empty_first_page:
            return 1
        return min(pages, ceil(COUNT_CAP / self.per_page))


def _estimated_rows(qs: QuerySet) -> int | None:
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [qs.model._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class FastListMixin:
    """Changelist defaults for tables with millions of rows."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_max_show_all = 200
    # status value -> ordering that an index serves for that filter (see get_ordering)
    status_ordering: dict[str, tuple[str, ...]] = {}
    # ordering served by a (user, ...) index, for lists narrowed to some users
    user_ordering: tuple[str, ...] | None = None

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # "Expired" rows are the old ones: newest-first by creation would walk past every
        # active row before the first match, so list them by expiry instead.
        status = request.GET.get("status", "")
        if status in self.status_ordering:
            return self.status_ordering[status]
        # One user's rows are found through the (user, expiry) index, already in order;
        # newest-first by creation would scan the whole table for a user's few rows.
        term = request.GET.get("q", "").strip()
        if self.user_ordering and ("user__id__exact" in request.GET or (term and parse_ip(term) is None)):
            return self.user_ordering
        return tuple(self.ordering or ())

    def selection_value(self, obj: Any) -> str:
        return str(obj.pk)

    def object_url_value(self, obj: Any) -> Any:
        return obj.pk

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return FastChangeList

    def action_checkbox(self, obj: Any) -> str:
        # Same markup as Django's, without a template render per row.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            self.selection_value(obj),
            _("Select this object for an action - {}").format(obj),
        )


def parse_ip(term: str) -> str | None:
    try:
        return str(ipaddress.ip_address(term))
    except ValueError:
        return None


def parse_uuid(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def users_matching(term: str) -> list[Any]:
    """Return the ids of the user named `term`, else of the first users whose name starts with it.

    A term with "@" matches an email, case-insensitively. Each is one indexed lookup
    (the unique username and its pattern index, the upper(email) index), and at most
    USER_MATCH_LIMIT ids come back, so the credential query that follows stays an
    indexed lookup by user.
    """
    user_model = get_user_model()
    manager = user_model._default_manager
    if "@" in term and any(f.name == "email" for f in user_model._meta.fields):
        users = manager.filter(email__iexact=term)
    else:
        field = user_model.USERNAME_FIELD
        exact = list(manager.filter(**{field: term}).values_list("pk", flat=True)[:1])
        if exact:
            return exact
        users = manager.filter(**{f"{field}__startswith": term}).order_by(field)
    return list(users.values_list("pk", flat=True)[:USER_MATCH_LIMIT])


@lru_cache(maxsize=128)
def _changelist_url(app_label: str, model_name: str, prefix: str, urlconf: Any) -> str:
    return reverse(f"admin:{app_label}_{model_name}_changelist", urlconf=urlconf)


def change_url(opts: Any, object_id: Any) -> str:
    """Return the admin URL of one object: one reverse() per model, not one per row."""
    base = _changelist_url(opts.app_label, opts.model_name, get_script_prefix(), get_urlconf())
    return f"{base}{quote(str(object_id))}/change/"


def user_link(user: Any) -> str:
    if user is None:
        return "—"
    return format_html('<a href="{}">{}</a>', change_url(user._meta, user.pk), user.get_username())


def datetime_column(field: str, description: Any) -> Callable[[Any, Any], str]:
    """Return a list column showing `field` (dotted for a related object) as local "YYYY-MM-DD HH:MM".

    Cheaper than Django's localized long date format, rendered for every cell of a page.
    """
    getter = attrgetter(field)

    @admin.display(description=description, ordering=field.replace(".", "__"))
    def column(model_admin: Any, obj: Any) -> str:
        value = getter(obj)
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"

    return column


class FastChangeList(ChangeList):
    """Row links built from one cached URL prefix, keyed by the admin's `object_url_value`."""

    def url_for_result(self, result: Any) -> str:
        return change_url(self.opts, self.model_admin.object_url_value(result))


def events_url(**filters: Any) -> str:
    return reverse("admin:accounts_revocationevent_changelist") + "?" + urlencode(filters)


def events_link(**filters: Any) -> str:
    return format_html('<a href="{}">{}</a>', events_url(**filters), _("audit"))


STATUS_LABELS = {"active": _("active"), "expired": _("expired"), "revoked": _("revoked")}


def status_badge(status: str) -> str:
    return format_html(
        '<span class="credential-status credential-{}">{}</span>', status, STATUS_LABELS[status]
    )


class ReadOnlyMixin:
    """Rows are never added, edited or deleted in the admin: changes go through the services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RevokeActionMixin(ReadOnlyMixin):
    """Bulk revocation behind a confirmation page, allowed to holders of `revoke_permissions`."""

    revoke_permissions: tuple[str, ...] = ()
    revoke_action_names: tuple[str, ...] = ()

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perms(self.revoke_permissions)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Django silently ignores an action the operator may not use; a revoke must be refused.
        posted = request.method == "POST" and self._posted_revoke_action(request)
        if posted and not self.has_revoke_permission(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def _posted_revoke_action(self, request: HttpRequest) -> bool:
        return bool(set(request.POST.getlist("action")) & set(self.revoke_action_names))

    def confirm_or_revoke(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        action: str,
        title: str,
        describe: Callable[[Any], dict[str, Any]],
        selected_value: Callable[[Any], str],
        revoke: Callable[[QuerySet, str], int],
        done_message: Callable[[int], str],
    ) -> HttpResponse | None:
        """Show what will be revoked; on the confirming POST revoke it and report the count."""
        opts = self.model._meta  # type: ignore[attr-defined]
        if request.POST.get("post") == "yes":
            if queryset.order_by().values("pk")[: MAX_REVOKE + 1].count() > MAX_REVOKE:
                self.message_user(  # type: ignore[attr-defined]
                    request, _("Select at most %d at a time.") % MAX_REVOKE, messages.ERROR
                )
                return None
            reason = request.POST.get("reason", "").strip()[:200]
            count = revoke(queryset, reason)
            self.message_user(request, done_message(count), messages.SUCCESS)  # type: ignore[attr-defined]
            return None
        rows = list(queryset[: MAX_REVOKE + 1])
        if len(rows) > MAX_REVOKE:
            self.message_user(  # type: ignore[attr-defined]
                request, _("Select at most %d at a time.") % MAX_REVOKE, messages.ERROR
            )
            return None
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": title,
            "subtitle": None,
            "opts": opts,
            "action": action,
            "items": [describe(obj) for obj in rows[:CONFIRM_LISTED]],
            "more": max(0, len(rows) - CONFIRM_LISTED),
            "total": len(rows),
            "selected": [selected_value(obj) for obj in rows],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "form_url": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/accounts/revoke_confirmation.html", context)


def credential_row(obj: Any, *, kind: str, ident: str, status: str) -> dict[str, Any]:
    """The non-secret facts listed about a credential on confirmation pages."""
    from accounts.user_agents import describe

    return {
        "kind": kind,
        "id": ident,
        "user": getattr(obj, "user", None),
        "ip": getattr(obj, "ip", None),
        "device": describe(getattr(obj, "user_agent", "") or ""),
        "created": getattr(obj, "created_at", None),
        "status": status,
    }


def recent_events(user: Any, limit: int = 10) -> Iterable[RevocationEvent]:
    return RevocationEvent.objects.filter(user=user).select_related("actor").order_by("-created_at")[:limit]
