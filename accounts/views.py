"""Server-rendered pages: sign up, and "Where you're signed in" with its revoke buttons."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.generic import CreateView, TemplateView

from accounts import selectors
from accounts.forms import SignupForm
from accounts.request_meta import client_ip
from accounts.services import revocation


@method_decorator([csrf_protect, never_cache], name="dispatch")
class SignupView(CreateView):
    form_class = SignupForm
    template_name = "accounts/signup.html"
    success_url = reverse_lazy("accounts-sessions")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect(self.success_url)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: SignupForm) -> HttpResponse:
        response = super().form_valid(form)
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        return response


@method_decorator([login_required, never_cache], name="dispatch")
class SessionListView(TemplateView):
    template_name = "accounts/sessions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            credentials=selectors.credential_list(
                user=self.request.user, current_session_key=self.request.session.session_key
            ),
            **kwargs,
        )


@method_decorator([login_required, csrf_protect, never_cache], name="dispatch")
class SessionRevokeView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, credential_id: uuid.UUID) -> HttpResponse:
        is_current = _is_current_session(request, credential_id)
        event = revocation.credential_revoke(
            user=request.user,
            credential_id=str(credential_id),
            actor=request.user,
            reason="revoked by the user",
            ip=client_ip(request),
        )
        if event is None:
            raise Http404(_("No such session."))
        if is_current:
            request.session.flush()
            return HttpResponseRedirect(reverse_lazy("login"))
        messages.success(request, _("Signed out that session."))
        return redirect("accounts-sessions")


@method_decorator([login_required, csrf_protect, never_cache], name="dispatch")
class SessionRevokeOthersView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        event = revocation.user_sign_out_others(
            user=request.user,
            keep_session_key=request.session.session_key,
            actor=request.user,
            reason="signed out all other sessions",
            ip=client_ip(request),
        )
        text = ngettext(
            "Signed out %(count)d other session or API sign-in.",
            "Signed out %(count)d other sessions and API sign-ins.",
            event.count,
        )
        messages.success(request, text % {"count": event.count})
        return redirect("accounts-sessions")


def _is_current_session(request: HttpRequest, credential_id: uuid.UUID) -> bool:
    session = selectors.session_get(user=request.user, public_id=credential_id)
    return session is not None and session.session_key == request.session.session_key
