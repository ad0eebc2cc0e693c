"""OpenAPI: declare the Bearer JWT scheme of accounts' authentication class and the services' Basic scheme."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class RevocationCheckingJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.RevocationCheckingJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION",
            token_prefix="Bearer",  # noqa: S106 - an auth scheme name, not a secret
            bearer_format="JWT",
        )


class IntrospectionClientScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.IntrospectionClientAuthentication"
    name = "clientBasicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "A service's client id and secret from TOKEN_INTROSPECTION_CLIENTS "
            "(not a user's credentials).",
        }
