"""Throttled sign-in forms and views for the site and the admin (see accounts.throttling)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts import throttling

THROTTLED_STATUS = 429
THROTTLED_MESSAGES = {
    "throttled": _("Too many failed sign-in attempts. Try again in %(minutes)d minutes."),
    "unavailable": _("Sign-in is temporarily unavailable. Try again in %(minutes)d minutes."),
}


class ThrottledLoginFormMixin:
    """Refuse the attempt before any password check when throttled; count failures and successes."""

    blocked: throttling.LoginBlocked | None = None

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username")
        self.blocked = throttling.login_blocked(self.request, username)
        if self.blocked is not None:
            minutes = max(1, -(-self.blocked.retry_after // 60))
            message = THROTTLED_MESSAGES[self.blocked.reason] % {"minutes": minutes}
            raise forms.ValidationError(message, code="throttled")
        if not username or not self.data.get("password"):
            return super().clean()  # an incomplete form is not a guess
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttling.login_record(self.request, username, success=False)
            raise
        throttling.login_record(self.request, username, success=True)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginFormMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginFormMixin, AdminAuthenticationForm):
    pass


def _with_throttle_status(response: HttpResponse) -> HttpResponse:
    """Answer 429 (with Retry-After) when the re-rendered login form was refused by the throttle."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    blocked = getattr(form, "blocked", None)
    if blocked is not None:
        response.status_code = THROTTLED_STATUS
        response["Retry-After"] = str(blocked.retry_after)
    return response


class ThrottledLoginView(LoginView):
    """Django's LoginView with the throttled form; a throttled attempt answers 429."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: Any) -> HttpResponse:
        return _with_throttle_status(super().form_invalid(form))


def throttled_admin_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap AdminSite.login so a throttled attempt answers 429 (use with ThrottledAdminAuthenticationForm)."""

    def login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return _with_throttle_status(view(request, extra_context))

    return login
