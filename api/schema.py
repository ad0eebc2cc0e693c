"""OpenAPI: declare the Bearer JWT scheme of accounts' authentication class."""

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
