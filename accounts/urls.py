"""The accounts app's pages, plus Django's auth views: include once under "accounts/"."""

from django.urls import include, path

from accounts import views
from accounts.login import ThrottledLoginView

urlpatterns = [
    # Before Django's auth URLs, so the throttled view answers /accounts/login/.
    path("login/", ThrottledLoginView.as_view(), name="login"),
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
    # login, logout (POST only), password_change, password_reset, as Django names them
    path("", include("django.contrib.auth.urls")),
]
