"""API URLs, mounted under /api/."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views

urlpatterns = [
    path("token/", views.TokenObtainApi.as_view(), name="token-obtain"),
    path("token/refresh/", views.TokenRefreshApi.as_view(), name="token-refresh"),
    path("token/verify/", views.TokenVerifyApi.as_view(), name="token-verify"),
    path("token/blacklist/", views.TokenBlacklistApi.as_view(), name="token-blacklist"),
    path("token/revoke/", views.TokenRevokeApi.as_view(), name="token-revoke"),
    path("token/introspect/", views.TokenIntrospectApi.as_view(), name="token-introspect"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("me/sessions/", views.MeSessionListApi.as_view(), name="me-sessions"),
    path(
        "me/sessions/revoke-others/",
        views.MeSessionRevokeOthersApi.as_view(),
        name="me-sessions-revoke-others",
    ),
    path("me/sessions/<uuid:credential_id>/", views.MeSessionRevokeApi.as_view(), name="me-session-revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    re_path(r"", views.api_not_found),  # last: every other /api/ path is a JSON 404
]
