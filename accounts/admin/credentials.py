"""Admin screens for browser sessions and API sign-ins (families)."""

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin.base import (
    FastListMixin,
    RevokeActionMixin,
    change_url,
    credential_row,
    datetime_column,
    events_link,
    events_url,
    parse_ip,
    parse_uuid,
    status_badge,
    user_link,
    users_matching,
)
from accounts.models import Session, SignInFamily
from accounts.privacy import stored_ip
from accounts.request_meta import client_ip
from accounts.services import revocation
from accounts.user_agents import describe


def session_status(session: Session) -> str:
    return "active" if session.expire_date > timezone.now() else "expired"


def family_status(family: SignInFamily) -> str:
    if family.revoked_at is not None:
        return "revoked"
    now = timezone.now()
    return "active" if family.refresh_expires_at > now and family.expires_at > now else "expired"


class SessionStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # A revoked session is deleted, so a session is only ever active or expired.
        return [("active", _("Active")), ("expired", _("Expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(expire_date__gt=now)
        if self.value() == "expired":
            return queryset.filter(expire_date__lte=now)
        return queryset


class FamilyStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", _("Active")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        # refresh_expires_at never passes expires_at (families.py caps it), so it alone
        # decides expiry, and its index serves both the filter and the "expired" ordering.
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, refresh_expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, refresh_expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class CredentialSearchMixin:
    """Search a credential list by exact IP, username prefix or exact email; one indexed lookup each."""

    search_fields = ("=ip", "^user__username", "=user__email")  # shown as the search hint only
    search_help_text = _("An IP address, the start of a username, or an email address.")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple:
        term = search_term.strip()
        if not term:
            return queryset, False
        ip = parse_ip(term)
        if ip is not None:
            return queryset.filter(ip__in={ip, stored_ip(ip)}), False  # truncated rows too
        return queryset.filter(user__in=users_matching(term)), False


@admin.register(Session)
class SessionAdmin(CredentialSearchMixin, RevokeActionMixin, FastListMixin, admin.ModelAdmin):
    """Browser sessions: listed, searched and revoked by public id; the key is never shown."""

    list_display = (
        "session_id",
        "owner",
        "ip",
        "device",
        "created",
        "last_active",
        "expires",
        "status",
    )
    list_filter = (SessionStatusFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("user",)
    sortable_by = ("created", "expires")
    ordering = ("-created_at",)
    status_ordering = {"expired": ("-expire_date",)}
    user_ordering = ("-expire_date",)
    created = datetime_column("created_at", _("created"))
    last_active = datetime_column("last_activity", _("last activity"))
    expires = datetime_column("expire_date", _("expires"))
    actions = ("revoke_sessions",)
    revoke_permissions = ("accounts.revoke_session",)
    revoke_action_names = ("revoke_sessions",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # session_data is never displayed; don't even load it.
        return super().get_queryset(request).defer("session_data")

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        # Only a changelist and a detail page keyed by public id: no URL carries the key.
        return [
            path("", view(self.changelist_view), name="{}_{}_changelist".format(*info)),
            path("<uuid:public_id>/change/", view(self.detail_view), name="{}_{}_change".format(*info)),
        ]

    @admin.display(description=_("session"))
    def session_id(self, obj: Session) -> str:
        return str(obj.public_id)[:8]

    @admin.display(description=_("user"), ordering="user__username")
    def owner(self, obj: Session) -> str:
        return user_link(obj.user)

    @admin.display(description=_("browser / OS"))
    def device(self, obj: Session) -> str:
        return describe(obj.user_agent)

    @admin.display(description=_("status"))
    def status(self, obj: Session) -> str:
        return status_badge(session_status(obj))

    def selection_value(self, obj: Session) -> str:
        # Django's checkbox value is str(obj.pk): the session key. Select rows by public id.
        return str(obj.public_id)

    def object_url_value(self, obj: Session) -> Any:
        return obj.public_id  # the primary key is the session key, a secret

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        # Rows are selected by public id; Django's action machinery filters by primary key.
        ids = [u for u in map(parse_uuid, request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)) if u]
        keys = list(Session.objects.filter(public_id__in=ids).values_list("session_key", flat=True))
        post = request.POST.copy()
        post.setlist(helpers.ACTION_CHECKBOX_NAME, keys)
        request.POST = post
        return super().response_action(request, queryset)

    def detail_view(self, request: HttpRequest, public_id: Any) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        session = self.get_queryset(request).filter(public_id=public_id).first()
        if session is None:
            raise Http404(_("No such session."))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Browser session %s") % session.public_id,
            "subtitle": None,
            "opts": self.opts,
            "original": session,
            "device": describe(session.user_agent),
            "status": session_status(session),
            "user_html": user_link(session.user),
            "events_url": events_url(target=str(session.public_id)),
            "can_revoke": self.has_revoke_permission(request) and session_status(session) == "active",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "changelist_url": reverse("admin:accounts_session_changelist"),
        }
        return TemplateResponse(request, "admin/accounts/session/detail.html", context)

    @admin.action(permissions=["revoke"], description=_("Revoke selected sessions"))
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def revoke(qs: QuerySet, reason: str) -> int:
            count = 0
            for session in qs.select_related(None).only("session_key", "public_id", "user_id"):
                revocation.session_revoke(
                    session=session, actor=request.user, reason=reason, ip=client_ip(request)
                )
                count += 1
            return count

        return self.confirm_or_revoke(
            request,
            queryset.select_related("user"),
            action="revoke_sessions",
            title=_("Revoke browser sessions"),
            describe=lambda s: credential_row(
                s, kind=_("browser session"), ident=str(s.public_id), status=session_status(s)
            ),
            selected_value=lambda s: str(s.public_id),
            revoke=revoke,
            done_message=lambda n: (
                ngettext("Revoked %(count)d browser session.", "Revoked %(count)d browser sessions.", n)
                % {"count": n}
            ),
        )


@admin.register(SignInFamily)
class SignInFamilyAdmin(CredentialSearchMixin, RevokeActionMixin, FastListMixin, admin.ModelAdmin):
    """API sign-ins: one row per POST /api/token/, with every refresh token rotated from it."""

    list_display = (
        "sign_in_id",
        "owner",
        "ip",
        "device",
        "created",
        "last_used",
        "expires",
        "status",
    )
    list_filter = (FamilyStatusFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("user",)
    sortable_by = ("created", "expires")
    ordering = ("-created_at",)
    status_ordering = {"expired": ("-refresh_expires_at",)}
    user_ordering = ("-refresh_expires_at",)
    created = datetime_column("created_at", _("created"))
    last_used = datetime_column("last_used_at", _("last used"))
    expires = datetime_column("refresh_expires_at", _("expires"))
    actions = ("revoke_families",)
    revoke_permissions = ("accounts.revoke_token",)
    revoke_action_names = ("revoke_families",)
    change_form_template = "admin/accounts/signinfamily/change_form.html"
    fields = (
        "id",
        "owner",
        "ip",
        "device",
        "user_agent",
        "created_at",
        "last_used_at",
        "refresh_expires_at",
        "expires_at",
        "status",
        "revoked_at",
        "revoke_reason",
        "audit",
    )
    readonly_fields = fields

    @admin.display(description=_("sign-in"))
    def sign_in_id(self, obj: SignInFamily) -> str:
        return str(obj.pk)[:8]

    @admin.display(description=_("user"), ordering="user__username")
    def owner(self, obj: SignInFamily) -> str:
        return user_link(obj.user)

    @admin.display(description=_("browser / OS"))
    def device(self, obj: SignInFamily) -> str:
        return describe(obj.user_agent)

    @admin.display(description=_("status"))
    def status(self, obj: SignInFamily) -> str:
        return status_badge(family_status(obj))

    @admin.display(description=_("audit"))
    def audit(self, obj: SignInFamily) -> str:
        return events_link(target=str(obj.pk))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ):
        extra_context = {
            **(extra_context or {}),
            "can_revoke": self.has_revoke_permission(request),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(permissions=["revoke"], description=_("Revoke selected sign-ins"))
    def revoke_families(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def revoke(qs: QuerySet, reason: str) -> int:
            events = [
                revocation.family_revoke(family=f, actor=request.user, reason=reason, ip=client_ip(request))
                for f in qs.filter(revoked_at__isnull=True)
            ]
            return sum(1 for e in events if e is not None)

        return self.confirm_or_revoke(
            request,
            queryset.select_related("user"),
            action="revoke_families",
            title=_("Revoke API sign-ins"),
            describe=lambda f: credential_row(
                f, kind=_("API sign-in"), ident=str(f.pk), status=family_status(f)
            ),
            selected_value=lambda f: str(f.pk),
            revoke=revoke,
            done_message=lambda n: (
                ngettext("Revoked %(count)d API sign-in.", "Revoked %(count)d API sign-ins.", n)
                % {"count": n}
            ),
        )


def family_link(family_id: Any) -> str:
    if family_id is None:
        return "—"
    return format_html('<a href="{}">{}</a>', change_url(SignInFamily._meta, family_id), str(family_id)[:8])
