"""The JSON API: thin views over accounts' services and selectors."""

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import update_last_login
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError

from accounts import selectors, throttling
from accounts.request_meta import client_ip, user_agent
from accounts.services import families, presented_tokens, revocation
from accounts.services.revocation_state import state
from accounts.tokens import FAMILY_CLAIM, AccessToken
from api.authentication import IntrospectionClientAuthentication
from api.parsers import SafeFormParser, SafeJSONParser
from api.serializers import (
    CredentialSerializer,
    CredentialsSerializer,
    ErrorSerializer,
    IntrospectionSerializer,
    MeSerializer,
    RefreshInputSerializer,
    RevokedCountSerializer,
    TokenInputSerializer,
    TokenPairSerializer,
    TokenWithHintSerializer,
)
from api.throttles import TokenRateThrottle

# Error responses documented in the schema; every one is an ErrorSerializer body.
TOKEN_ERRORS = {code: ErrorSerializer for code in (400, 401, 413, 415)}
THROTTLED_TOKEN_ERRORS = {**TOKEN_ERRORS, 429: ErrorSerializer}
ME_ERRORS = {401: ErrorSerializer}
EMPTY_OK = OpenApiResponse(OpenApiTypes.OBJECT, description="Success: an empty JSON object, `{}`.")
ME_UNSAFE_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer}  # 403: session without CSRF token
# RFC 7009/7662 endpoints take form-encoded bodies (as the RFCs require) as well as JSON.
FORM_OR_JSON = [SafeJSONParser, SafeFormParser]
REVOKE_ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 413, 415)}
INTROSPECT_ERRORS = TOKEN_ERRORS


class TokenInvalid(AuthenticationFailed):
    default_detail = "Token is invalid or expired"
    default_code = "token_not_valid"


class NoStoreApi(APIView):
    """An API view whose answers no cache may store (they are about tokens)."""

    @method_decorator(never_cache)
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # RFC 6749 section 5.1, RFC 7662 section 2.2
        response["Pragma"] = "no-cache"
        return response


class PublicTokenApi(NoStoreApi):
    """Base of the token endpoints: no authentication, throttled, never cached."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRateThrottle]  # limits views that set a throttle_scope

    def get_authenticate_header(self, request: Request) -> str:
        # A failed token check is a 401 with a challenge, not DRF's default 403.
        return 'Bearer realm="api"'


@extend_schema(
    tags=["token"],
    request=CredentialsSerializer,
    responses={200: TokenPairSerializer, **THROTTLED_TOKEN_ERRORS},
)
class TokenObtainApi(PublicTokenApi):
    """Sign in with username and password: starts an API sign-in family."""

    throttle_scope = "token"

    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = data.validated_data
        if blocked := throttling.login_blocked(request._request, credentials["username"]):
            raise Throttled(wait=blocked.retry_after)
        user = authenticate(
            request._request, username=credentials["username"], password=credentials["password"]
        )
        ok = user is not None and user.is_active
        throttling.login_record(request._request, credentials["username"], success=ok)
        if not ok:
            raise AuthenticationFailed(
                "No active account found with the given credentials", code="no_active_account"
            )
        pair = families.family_start(user=user, ip=client_ip(request), user_agent=user_agent(request))
        update_last_login(None, user)
        return Response({"access": pair.access, "refresh": pair.refresh})


@extend_schema(
    tags=["token"],
    request=RefreshInputSerializer,
    responses={200: TokenPairSerializer, **THROTTLED_TOKEN_ERRORS},
)
class TokenRefreshApi(PublicTokenApi):
    """Exchange a refresh token for a new pair; a reused refresh token ends its whole sign-in."""

    throttle_scope = "token"

    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = families.family_rotate(raw_refresh=data.validated_data["refresh"])
        except families.FamilyError as e:
            raise TokenInvalid(str(e)) from e
        return Response({"access": pair.access, "refresh": pair.refresh})


@extend_schema(tags=["token"], request=TokenInputSerializer, responses={200: EMPTY_OK, **TOKEN_ERRORS})
class TokenVerifyApi(PublicTokenApi):
    """Check an access or refresh token: 401 when invalid, expired, blacklisted or revoked."""

    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["token"]
        try:
            access = AccessToken(raw)
        except TokenError:
            access = None
        if access is not None:
            if state.is_access_revoked(
                family_id=access[FAMILY_CLAIM], user_id=str(access["user_id"]), issued_at=access["iat"]
            ):
                raise TokenInvalid("Token has been revoked", code="token_revoked")
            if not _active_user_exists(access["user_id"]):
                raise TokenInvalid("Token's user is no longer active")
            return Response({})
        try:
            families.refresh_check(raw_refresh=raw)
        except families.FamilyError as e:
            raise TokenInvalid(str(e)) from e
        return Response({})


@extend_schema(tags=["token"], request=RefreshInputSerializer, responses={200: EMPTY_OK, **TOKEN_ERRORS})
class TokenBlacklistApi(PublicTokenApi):
    """Sign out: end the refresh token's sign-in family, its access tokens included."""

    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            family = families.family_of_refresh(raw_refresh=data.validated_data["refresh"])
        except families.FamilyError as e:
            raise TokenInvalid(str(e)) from e
        revocation.family_revoke(family=family, actor=family.user, reason="signed out", ip=client_ip(request))
        return Response({})


@extend_schema(tags=["token"], request=TokenWithHintSerializer, responses={200: EMPTY_OK, **REVOKE_ERRORS})
class TokenRevokeApi(NoStoreApi):
    """RFC 7009: end the whole sign-in of an access or refresh token (Bearer token or session cookie).

    200 `{}` also for an unknown, malformed, expired or already revoked token. Another
    user's live token: 403, unless you are staff with the `accounts.revoke_token` permission.
    """

    parser_classes = FORM_OR_JSON

    def post(self, request: Request) -> Response:
        data = TokenWithHintSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            presented_tokens.token_revoke(
                raw=data.validated_data["token"],
                hint=data.validated_data.get("token_type_hint"),
                actor=_user(request),
                reason="revoked through RFC 7009",
                ip=client_ip(request),
            )
        except presented_tokens.RevokeForbidden as e:
            raise PermissionDenied("You may not revoke another user's token.") from e
        return Response({})


@extend_schema(
    tags=["token"],
    request=TokenWithHintSerializer,
    responses={200: IntrospectionSerializer, **INTROSPECT_ERRORS},
)
class TokenIntrospectApi(NoStoreApi):
    """RFC 7662, for services: whether a token is active now, and its claims if so.

    Authenticate with a client id and secret from TOKEN_INTROSPECTION_CLIENTS (HTTP Basic).
    An invalid, expired, revoked or used token, or one whose user is gone or inactive,
    gets exactly `{"active": false}`.
    """

    authentication_classes = [IntrospectionClientAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list[Any] = []  # services call it on every request they serve
    parser_classes = FORM_OR_JSON

    def post(self, request: Request) -> Response:
        data = TokenWithHintSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            presented_tokens.token_introspect(
                raw=data.validated_data["token"], hint=data.validated_data.get("token_type_hint")
            )
        )


class MeApi(APIView):
    """The signed-in user (Bearer access token or the site's session cookie)."""

    @extend_schema(tags=["me"], responses={200: MeSerializer, **ME_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(_user(request)).data)


class MeSessionListApi(APIView):
    """Your active browser sessions and API sign-ins; `current` marks the one making this call."""

    @extend_schema(tags=["me"], responses={200: CredentialSerializer(many=True), **ME_ERRORS})
    def get(self, request: Request) -> Response:
        session_key, family_id = _current_credential(request)
        credentials = selectors.credential_list(
            user=_user(request), current_session_key=session_key, current_family_id=family_id
        )
        return Response(CredentialSerializer(credentials, many=True).data)


class MeSessionRevokeApi(APIView):
    """Revoke one of your own sessions or sign-ins by its id (anyone else's id: 404)."""

    @extend_schema(tags=["me"], request=None, responses={204: None, **ME_UNSAFE_ERRORS, 404: ErrorSerializer})
    def delete(self, request: Request, credential_id: Any) -> Response:
        user = _user(request)
        event = revocation.credential_revoke(
            user=user,
            credential_id=str(credential_id),
            actor=user,
            reason="revoked by the user",
            ip=client_ip(request),
        )
        if event is None:
            raise NotFound("No such session or sign-in.")
        _forget_revoked_session(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSessionRevokeOthersApi(APIView):
    """Sign out everywhere except the credential making this call."""

    @extend_schema(tags=["me"], request=None, responses={200: RevokedCountSerializer, **ME_UNSAFE_ERRORS})
    def post(self, request: Request) -> Response:
        session_key, family_id = _current_credential(request)
        user = _user(request)
        event = revocation.user_sign_out_others(
            user=user,
            keep_session_key=session_key,
            keep_family_id=family_id,
            actor=user,
            reason="signed out everywhere else",
            ip=client_ip(request),
        )
        return Response({"revoked": event.count})


def _user(request: Request) -> Any:
    """Return the signed-in user; a token's user must still exist and be active (else 401).

    A session's user was loaded (and checked) by Django; a token carries only the id.
    """
    user_model = get_user_model()
    if isinstance(request.user, user_model):
        return request.user
    user = user_model._default_manager.filter(pk=request.user.pk, is_active=True).first()
    if user is None:
        raise AuthenticationFailed("User not found", code="user_not_found")
    return user


def _forget_revoked_session(request: Request) -> None:
    """Drop the request's session if it was the one just revoked, so the response clears it.

    Without this SessionMiddleware would try to save the deleted session (a 400).
    """
    session = getattr(request._request, "session", None)
    key = session.session_key if session is not None and request.auth is None else None
    if key and not session.exists(key):
        session.flush()


def api_not_found(request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/: a JSON 404 like every API error."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)


def _current_credential(request: Request) -> tuple[str | None, str | None]:
    """Return (session key, family id) of the credential that authenticated this request."""
    if hasattr(request.auth, "get"):
        return None, request.auth.get(FAMILY_CLAIM)
    return request.session.session_key, None


def _active_user_exists(user_id: Any) -> bool:
    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()
