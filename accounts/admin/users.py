"""The user admin, extended with the user's credentials and "Sign out everywhere"."""

from importlib import import_module
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import selectors
from accounts.admin.base import (
    FastListMixin,
    RevokeActionMixin,
    events_url,
    recent_events,
    users_matching,
)
from accounts.admin.credentials import family_status, session_status
from accounts.request_meta import client_ip
from accounts.services import revocation
from accounts.user_agents import describe

# Credentials listed on the user's page and on the confirmation page (the rest are counted).
PANEL_LIMIT = 20

User = get_user_model()
import_module("django.contrib.auth.admin")  # register Django's UserAdmin first, then replace it
_base: type[admin.ModelAdmin] = (
    type(admin.site.get_model_admin(User)) if admin.site.is_registered(User) else UserAdmin
)
if admin.site.is_registered(User):
    admin.site.unregister(User)


def credentials_of(user: Any) -> dict[str, Any]:
    """Return the user's active sessions and sign-ins (first PANEL_LIMIT each) and their counts."""
    sessions = selectors.session_list(user=user)
    families = selectors.family_list(user=user)
    session_rows = list(sessions[: PANEL_LIMIT + 1])
    family_rows = list(families[: PANEL_LIMIT + 1])
    return {
        "sessions": [
            _row(s, str(s.public_id), s.last_activity, s.expire_date, session_status(s))
            for s in session_rows[:PANEL_LIMIT]
        ],
        "sessions_more": len(session_rows) > PANEL_LIMIT,
        "families": [
            _row(f, str(f.pk), f.last_used_at, f.refresh_expires_at, family_status(f))
            for f in family_rows[:PANEL_LIMIT]
        ],
        "families_more": len(family_rows) > PANEL_LIMIT,
        "sessions_url": reverse("admin:accounts_session_changelist") + f"?user__id__exact={user.pk}",
        "families_url": reverse("admin:accounts_signinfamily_changelist") + f"?user__id__exact={user.pk}",
    }


def _row(obj: Any, ident: str, last_used: Any, expires: Any, status: str) -> dict[str, Any]:
    return {
        "id": ident,
        "ip": obj.ip,
        "device": describe(obj.user_agent),
        "user_agent": obj.user_agent,
        "created": obj.created_at,
        "last_used": last_used,
        "expires": expires,
        "status": status,
    }


@admin.register(User)
class AccountsUserAdmin(RevokeActionMixin, FastListMixin, _base):  # type: ignore[misc, valid-type]
    """Django's user admin plus the user's credentials, the audit trail and "Sign out everywhere"."""

    change_form_template = "admin/accounts/user/change_form.html"
    search_help_text = _("The start of a username, or an email address.")
    actions = ("sign_out_everywhere",)
    revoke_permissions = ("accounts.revoke_session", "accounts.revoke_token")
    revoke_action_names = ("sign_out_everywhere",)

    # RevokeActionMixin makes credential admins read-only; users stay editable as in Django.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _base.has_add_permission(self, request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _base.has_change_permission(self, request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _base.has_delete_permission(self, request, obj)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(pk__in=users_matching(term)), False

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<id>/sign-out-everywhere/",
                self.admin_site.admin_view(self.sign_out_everywhere_view),
                name="{}_{}_sign_out_everywhere".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ):
        user = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if user is not None and self.has_view_or_change_permission(request, user):
            extra_context.update(
                credentials=credentials_of(user),
                events=list(recent_events(user)),
                events_url=events_url(user__id__exact=user.pk),
                can_revoke=self.has_revoke_permission(request),
                sign_out_url=reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_sign_out_everywhere", args=[user.pk]
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def sign_out_everywhere_view(self, request: HttpRequest, id: str) -> HttpResponse:
        """GET: what will end, with a reason field. POST: end it, record the operator, log it."""
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        user = self.get_object(request, id)
        if user is None:
            raise Http404(_("No such user."))
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[user.pk])
        if request.method == "POST":
            event = self._sign_out(request, user, request.POST.get("reason", ""))
            self.message_user(
                request,
                ngettext(
                    "Signed %(user)s out everywhere: %(count)d credential revoked.",
                    "Signed %(user)s out everywhere: %(count)d credentials revoked.",
                    event.count,
                )
                % {"user": user.get_username(), "count": event.count},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Sign %s out everywhere") % user.get_username(),
            "subtitle": None,
            "opts": self.opts,
            "original": user,
            "credentials": credentials_of(user),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/accounts/user/sign_out_everywhere.html", context)

    @admin.action(permissions=["revoke"], description=_("Sign out everywhere"))
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def revoke(qs: QuerySet, reason: str) -> int:
            return sum(self._sign_out(request, user, reason).count for user in qs)

        return self.confirm_or_revoke(
            request,
            queryset,
            action="sign_out_everywhere",
            title=_("Sign users out everywhere"),
            describe=lambda u: {
                "kind": _("user"),
                "id": u.get_username(),
                "user": u,
                "ip": None,
                "device": "",
                "created": getattr(u, "date_joined", None),
                "status": "active" if u.is_active else "inactive",
            },
            selected_value=lambda u: str(u.pk),
            revoke=revoke,
            done_message=lambda n: (
                ngettext(
                    "Signed the selected users out everywhere: %(count)d credential revoked.",
                    "Signed the selected users out everywhere: %(count)d credentials revoked.",
                    n,
                )
                % {"count": n}
            ),
        )

    def _sign_out(self, request: HttpRequest, user: Any, reason: str) -> Any:
        reason = reason.strip()[:200]
        event = revocation.user_sign_out_everywhere(
            user=user, actor=request.user, reason=reason, ip=client_ip(request)
        )
        message = f"Signed out everywhere ({event.count} credentials revoked)"
        self.log_change(request, user, message + (f": {reason}" if reason else ""))
        return event
