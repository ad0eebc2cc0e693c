"""The project's URLs plus /bench/<variant>/me/ for each authentication variant."""

from django.urls import path

from bench.views import VARIANTS, NoAuthMeApi, me_view
from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("bench/none/me/", NoAuthMeApi.as_view()),
    *[path(f"bench/{name}/me/", me_view(cls).as_view()) for name, cls in VARIANTS.items()],
]
