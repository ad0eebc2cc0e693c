"""The OpenAPI 3 schema: generates and validates without warnings, documents every endpoint."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

ENDPOINTS = {
    ("post", "/api/token/"): ("200", {"400", "401", "415", "429"}),
    ("post", "/api/token/refresh/"): ("200", {"400", "401", "415", "429"}),
    ("post", "/api/token/verify/"): ("200", {"400", "401"}),
    ("post", "/api/token/blacklist/"): ("200", {"400", "401"}),
    ("post", "/api/token/revoke/"): ("200", {"400", "401", "403", "413", "415"}),
    ("post", "/api/token/introspect/"): ("200", {"400", "401", "413", "415"}),
    ("get", "/api/me/"): ("200", {"401"}),
    ("get", "/api/me/sessions/"): ("200", {"401"}),
    ("delete", "/api/me/sessions/{credential_id}/"): ("204", {"401", "403", "404"}),
    ("post", "/api/me/sessions/revoke-others/"): ("200", {"401", "403"}),
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: Any, django_db_blocker: Any) -> dict[str, Any]:
    """Generate with --validate --fail-on-warn: any warning or invalid output fails the command."""
    out = tmp_path_factory.mktemp("schema") / "schema.json"
    with django_db_blocker.unblock():
        call_command(
            "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out)
        )
    return json.loads(Path(out).read_text())


def test_every_endpoint_is_documented_and_nothing_else(schema: dict[str, Any]) -> None:
    documented = {(m, p) for p, ops in schema["paths"].items() for m in ops if m != "parameters"}
    assert documented == set(ENDPOINTS)
    assert schema["openapi"].startswith("3.")


@pytest.mark.parametrize(("method", "path"), list(ENDPOINTS), ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_endpoint_documents_request_response_and_errors(
    schema: dict[str, Any], method: str, path: str
) -> None:
    operation = schema["paths"][path][method]
    ok, errors = ENDPOINTS[(method, path)]
    responses = operation["responses"]
    assert ok in responses
    if ok != "204":
        assert "application/json" in responses[ok]["content"]
    assert errors <= set(responses)
    for code in set(responses) - {ok}:
        ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"
    if method == "post" and path.startswith("/api/token/"):
        body = operation["requestBody"]
        assert body["required"] is True
        assert "$ref" in body["content"]["application/json"]["schema"]
    assert operation.get("description"), "each operation says what it does"


def test_bearer_auth_is_declared(schema: dict[str, Any]) -> None:
    jwt_scheme = schema["components"]["securitySchemes"]["jwtAuth"]
    assert jwt_scheme == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for path in ("/api/me/", "/api/me/sessions/"):
        assert {"jwtAuth": []} in schema["paths"][path]["get"]["security"]
    # The token endpoints take no credentials.
    assert schema["paths"]["/api/token/"]["post"]["security"] == [{}]


def test_rfc_endpoints_declare_their_security_and_form_bodies(schema: dict[str, Any]) -> None:
    """Revocation takes a user's Bearer token or session cookie; introspection only a service's Basic."""
    revoke = schema["paths"]["/api/token/revoke/"]["post"]
    assert revoke["security"] == [{"jwtAuth": []}, {"cookieAuth": []}]
    introspect = schema["paths"]["/api/token/introspect/"]["post"]
    assert introspect["security"] == [{"clientBasicAuth": []}]
    scheme = schema["components"]["securitySchemes"]["clientBasicAuth"]
    assert {k: v for k, v in scheme.items() if k != "description"} == {"type": "http", "scheme": "basic"}
    for operation in (revoke, introspect):
        assert set(operation["requestBody"]["content"]) == {
            "application/json",
            "application/x-www-form-urlencoded",
        }
    answer = schema["components"]["schemas"]["Introspection"]
    assert answer["required"] == ["active"]
    assert {"active", "token_type", "sub", "exp", "iat", "jti", "sid", "iss", "aud", "username"} == set(
        answer["properties"]
    )


def test_error_schema_is_detail_and_code(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["Error"]
    assert {"detail", "code"} <= set(error["required"])


def test_schema_endpoint_serves_it(client: Any, db: Any) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/token/refresh/" in json.loads(response.content)["paths"]


def test_docs_page_renders_with_local_assets(client: Any, db: Any) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    assert "<script>" not in html  # no inline script: the strict CSP applies here too
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html  # served from the sidecar, offline
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
