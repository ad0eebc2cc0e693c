"""Root URLs: the site, the accounts pages, admin and the API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from project.health import healthz

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
]
