"""The revocation audit trail: read-only, searchable, linked to users and credentials."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin.base import (
    FastListMixin,
    ReadOnlyMixin,
    change_url,
    datetime_column,
    parse_uuid,
    user_link,
    users_matching,
)
from accounts.models import RevocationEvent, SignInFamily


@admin.register(RevocationEvent)
class RevocationEventAdmin(ReadOnlyMixin, FastListMixin, admin.ModelAdmin):
    """Who revoked what, when, why and from where. Nobody may add, change or delete an event."""

    list_display = ("when", "action", "subject", "operator", "target_link", "count", "reason", "ip")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("user", "actor")
    sortable_by = ("when",)
    when = datetime_column("created_at", _("when"))
    ordering = ("-created_at",)
    search_fields = ("=target", "^user__username", "=user__email")
    search_help_text = _("A session or sign-in id, the start of a username, or an email address.")
    actions = None
    fields = ("created_at", "action", "subject", "operator", "target_link", "count", "reason", "ip")
    readonly_fields = fields

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple:
        term = search_term.strip()
        if not term:
            return queryset, False
        if parse_uuid(term) is not None:
            return queryset.filter(target=str(parse_uuid(term))), False
        return queryset.filter(user__in=users_matching(term)), False

    @admin.display(description=_("subject user"))
    def subject(self, obj: RevocationEvent) -> str:
        return user_link(obj.user)

    @admin.display(description=_("actor"))
    def operator(self, obj: RevocationEvent) -> str:
        return user_link(obj.actor) if obj.actor_id else _("(the user or the system)")

    @admin.display(description=_("target"))
    def target_link(self, obj: RevocationEvent) -> str:
        if not obj.target:
            return "—"
        if obj.action == RevocationEvent.Action.SESSION:
            # A revoked session's row is deleted: its public id is all that is left.
            return obj.target
        return format_html('<a href="{}">{}</a>', change_url(SignInFamily._meta, obj.target), obj.target)
