"""The emergency switch in the admin: revoke every credential issued before a time, and its history."""

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin.base import ReadOnlyMixin, datetime_column, user_link
from accounts.models import GlobalCutoff, Session
from accounts.request_meta import client_ip
from accounts.services import revocation

SWITCH_PERMISSIONS = ("accounts.revoke_session", "accounts.revoke_token")


class EmergencyForm(forms.Form):
    before = forms.DateTimeField(
        label=_("Revoke every credential issued before"),
        required=False,
        help_text=_("ISO 8601, e.g. 2026-11-27 14:05:00 (UTC unless an offset is given). Empty: now."),
    )
    reason = forms.CharField(label=_("Reason (recorded in the audit trail)"), max_length=200, required=False)

    def clean_before(self) -> datetime | None:
        value = self.cleaned_data["before"]
        if value is not None and value > timezone.now():
            raise forms.ValidationError(
                _("This time is in the future: only credentials already issued can be revoked.")
            )
        return value


def can_use_switch(request: HttpRequest) -> bool:
    """Superusers, and staff holding both revoke permissions."""
    user = request.user
    return user.is_active and user.is_staff and user.has_perms(SWITCH_PERMISSIONS)


@admin.register(GlobalCutoff)
class GlobalCutoffAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Each use of the emergency switch, newest first; the page to use it is linked from the list."""

    change_list_template = "admin/accounts/globalcutoff/change_list.html"
    list_display = ("cutoff", "when", "operator", "reason")
    list_select_related = ("actor",)
    cutoff = datetime_column("not_before", _("not before"))
    when = datetime_column("created_at", _("when"))
    ordering = ("-not_before",)
    actions = None
    fields = ("not_before", "created_at", "operator", "reason")
    readonly_fields = fields

    @admin.display(description=_("actor"))
    def operator(self, obj: GlobalCutoff) -> str:
        return user_link(obj.actor) if obj.actor_id else _("(a management command)")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or can_use_switch(request)

    def get_urls(self) -> list:
        return [
            path(
                "emergency/",
                self.admin_site.admin_view(self.emergency_view),
                name="accounts_globalcutoff_emergency",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_use_switch": can_use_switch(request)}
        return super().changelist_view(request, extra_context)

    def emergency_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the form. POST: what will happen, to confirm. POST with confirm: do it."""
        if not can_use_switch(request):
            raise PermissionDenied
        form = EmergencyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            before = form.cleaned_data["before"]
            reason = form.cleaned_data["reason"].strip()
            if request.POST.get("confirm") == "yes":
                return self._switch(request, before or timezone.now(), reason)
            return self._render(request, form, confirm=True, before=before, reason=reason)
        return self._render(request, form, confirm=False, before=None, reason="")

    def _render(
        self,
        request: HttpRequest,
        form: EmergencyForm,
        *,
        confirm: bool,
        before: datetime | None,
        reason: str,
    ) -> HttpResponse:
        sessions, families = revocation.credentials_issued_before_count(before=before or timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke every credential issued before a time"),
            "subtitle": None,
            "opts": self.opts,
            "form": form,
            "confirm": confirm,
            "before": before,
            "reason": reason,
            "sessions": sessions,
            "families": families,
            "signs_out_operator": before is None or _signed_in_before(request, before),
        }
        return TemplateResponse(request, "admin/accounts/globalcutoff/emergency.html", context)

    def _switch(self, request: HttpRequest, before: datetime, reason: str) -> HttpResponse:
        try:
            event = revocation.credentials_revoke_issued_before(
                before=before, actor=request.user, reason=reason, ip=client_ip(request)
            )
        except ValueError as e:  # the time became invalid meanwhile (it cannot, short of a clock jump)
            self.message_user(request, str(e), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_globalcutoff_emergency"))
        self.message_user(
            request,
            ngettext(
                "Emergency switch used: %(count)d credential issued before %(before)s revoked.",
                "Emergency switch used: %(count)d credentials issued before %(before)s revoked.",
                event.count,
            )
            % {"count": event.count, "before": timezone.localtime(before).isoformat(timespec="seconds")},
            messages.SUCCESS,
        )
        changelist = reverse("admin:accounts_globalcutoff_changelist")
        session = request.session
        if session.session_key is None or session.exists(session.session_key):
            return HttpResponseRedirect(changelist)
        # The operator's own session was older than the cutoff: it is gone. Drop what is left of it
        # (so the response does not try to save it) and send them to sign in again.
        session.flush()
        request.user = AnonymousUser()
        self.message_user(
            request,
            _("Your own session was issued before that time, so you were signed out too. Sign in again."),
            messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:login") + "?" + urlencode({"next": changelist}))


def _signed_in_before(request: HttpRequest, before: datetime) -> bool:
    """Whether the operator's own session was created before `before` (so the switch ends it)."""
    key = request.session.session_key
    created = Session.objects.filter(session_key=key).values_list("created_at", flat=True).first()
    return created is not None and created < before
