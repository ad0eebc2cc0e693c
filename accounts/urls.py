"""The accounts app's pages, plus Django's auth views: include once under "accounts/".

The pages render the app's own templates (accounts/templates/accounts/), so they work in
a project that has none; a project restyles them by overriding accounts/base.html.
"""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views
from accounts.login import ThrottledLoginView

urlpatterns = [
    # Before Django's auth URLs, so these views (with the app's templates) answer first.
    path("login/", ThrottledLoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(template_name="accounts/logged_out.html"), name="logout"),
    path(
        "password_change/",
        auth_views.PasswordChangeView.as_view(template_name="accounts/password_change_form.html"),
        name="password_change",
    ),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="password_change_done",
    ),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("sessions/", views.SessionListView.as_view(), name="accounts-sessions"),
    path(
        "sessions/<uuid:credential_id>/revoke/",
        views.SessionRevokeView.as_view(),
        name="accounts-session-revoke",
    ),
    path(
        "sessions/revoke-others/",
        views.SessionRevokeOthersView.as_view(),
        name="accounts-session-revoke-others",
    ),
    # password_reset and the rest of Django's auth views, as Django names them (their
    # templates, registration/password_reset_*.html, come with django.contrib.admin)
    path("", include("django.contrib.auth.urls")),
]
