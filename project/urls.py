"""Root URLs: the site, the accounts pages, admin and the API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from accounts.login import ThrottledAdminAuthenticationForm, throttled_admin_login
from project.health import healthz

# The admin login is throttled like the site's (accounts.throttling); set before admin.site.urls.
admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.login = throttled_admin_login(admin.site.login)

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
]
