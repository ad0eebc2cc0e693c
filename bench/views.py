"""One view per authentication variant: the project's /api/me/ with only its auth classes changed."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication, JWTStatelessUserAuthentication

from accounts.authentication import RevocationCheckingJWTAuthentication
from api.serializers import MeSerializer
from api.views import MeApi

# URL name -> the authentication class of that variant (sessions differ by engine, see middleware).
VARIANTS: dict[str, Any] = {
    "session-sqlite": SessionAuthentication,
    "session-db": SessionAuthentication,
    "session-cached": SessionAuthentication,
    "jwt-user": JWTAuthentication,
    "jwt-stateless": JWTStatelessUserAuthentication,
    "jwt-revocation": RevocationCheckingJWTAuthentication,
    "drf-token": TokenAuthentication,
}


def me_view(auth_class: Any) -> Any:
    return type(f"Bench{auth_class.__name__}MeApi", (MeApi,), {"authentication_classes": [auth_class]})


class WhoAmIApi(APIView):
    """/api/me/ without its user read: answers with the id the credential carries."""

    def get(self, request: Request) -> Response:
        return Response({"id": request.user.pk})


def whoami_view(auth_class: Any) -> Any:
    name = f"Bench{auth_class.__name__}WhoAmIApi"
    return type(name, (WhoAmIApi,), {"authentication_classes": [auth_class]})


class NoAuthMeApi(APIView):
    """The ceiling: /api/me/'s work (one user read, serialised) with no authentication at all."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        user = get_user_model().objects.filter(is_active=True).order_by("pk").first()
        return Response(MeSerializer(user).data)
