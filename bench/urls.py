"""The project's URLs plus /bench/<variant>/me/ (and /whoami/, no user read) per auth variant."""

from django.urls import path

from bench.views import VARIANTS, NoAuthMeApi, me_view, whoami_view
from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("bench/none/me/", NoAuthMeApi.as_view()),
    *[path(f"bench/{name}/me/", me_view(cls).as_view()) for name, cls in VARIANTS.items()],
    *[path(f"bench/{name}/whoami/", whoami_view(cls).as_view()) for name, cls in VARIANTS.items()],
]
