"""The token endpoints: obtain, refresh (rotation, reuse detection), verify, blacklist."""

import json
import os
import subprocess
import sys
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import FamilyToken, RevocationEvent, SignInFamily
from accounts.services import revocation
from tests.api.conftest import (
    API_UA,
    assert_error,
    assert_no_store,
    claims,
    forge,
    me,
    obtain,
    pair,
    refresh,
    verify,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db


class TestTokenObtain:
    def test_returns_a_pair_that_is_not_cached(self, api: Any, user: Any) -> None:
        response = obtain(api)
        assert response.status_code == 200
        assert set(response.json()) == {"access", "refresh"}
        assert_no_store(response)
        assert response["Pragma"] == "no-cache"

    def test_tokens_are_hs256_with_issuer_audience_and_family(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        for raw, kind in ((tokens["access"], "access"), (tokens["refresh"], "refresh")):
            assert jwt.get_unverified_header(raw)["alg"] == "HS256"
            c = claims(raw)
            assert c["token_type"] == kind
            assert c["iss"] == settings.SIMPLE_JWT["ISSUER"] == "authproject"
            assert c["aud"] == settings.SIMPLE_JWT["AUDIENCE"] == "authproject-api"
            assert c["user_id"] == str(user.pk)
        family = SignInFamily.objects.get(user=user)
        assert claims(tokens["access"])["sid"] == claims(tokens["refresh"])["sid"] == str(family.pk)
        assert family.ip == "127.0.0.1" and family.user_agent == API_UA

    def test_signed_with_jwt_signing_key_not_secret_key(self, api: Any, user: Any) -> None:
        access = pair(api)["access"]
        assert settings.SIMPLE_JWT["SIGNING_KEY"] == settings.JWT_SIGNING_KEY != settings.SECRET_KEY
        opts = {"audience": "authproject-api", "issuer": "authproject"}
        jwt.decode(access, settings.JWT_SIGNING_KEY, algorithms=["HS256"], **opts)
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(access, settings.SECRET_KEY, algorithms=["HS256"], **opts)

    def test_default_lifetimes_are_five_minutes_and_one_day(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        access, refresh_claims = claims(tokens["access"]), claims(tokens["refresh"])
        assert access["exp"] - access["iat"] == 300
        assert refresh_claims["exp"] - refresh_claims["iat"] == 86400

    def test_unknown_user_wrong_password_and_inactive_user_look_the_same(self, api: Any, user: Any) -> None:
        make_user("carol", is_active=False)
        answers = [
            obtain(api, "nobody-here"),
            obtain(api, "alice", "wrong password"),
            obtain(api, "carol"),
        ]
        bodies = {a.content for a in answers}
        assert [a.status_code for a in answers] == [401, 401, 401]
        assert len(bodies) == 1
        assert_error(answers[0], 401, "no_active_account")
        assert not SignInFamily.objects.exists()

    def test_missing_fields_are_a_400_json_error(self, api: Any, user: Any) -> None:
        body = assert_error(api.post("/api/token/", {}, format="json"), 400, "invalid")
        assert set(body["errors"]) == {"username", "password"}

    def test_get_is_not_allowed(self, api: Any, db: Any) -> None:
        assert_error(api.get("/api/token/"), 405, "method_not_allowed")


def test_lifetimes_issuer_and_audience_come_from_the_environment() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "JWT_ACCESS_TOKEN_LIFETIME": "60",
        "JWT_REFRESH_TOKEN_LIFETIME": "3600",
        "JWT_ISSUER": "iss-from-env",
        "JWT_AUDIENCE": "aud-from-env",
        "JWT_SIGNING_KEY": "k" * 40,
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; j = s.SIMPLE_JWT;"
        "print(json.dumps([j['ACCESS_TOKEN_LIFETIME'].total_seconds(), j['REFRESH_TOKEN_LIFETIME']"
        ".total_seconds(), j['ISSUER'], j['AUDIENCE'], j['SIGNING_KEY'], j['ALGORITHM']]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [60.0, 3600.0, "iss-from-env", "aud-from-env", "k" * 40, "HS256"]


class TestIssuerAudience:
    @pytest.mark.parametrize(
        "overrides",
        [{"iss": "someone-else"}, {"aud": "another-api"}, {"aud": ["another-api"]}, {"iss": "authproject-x"}],
    )
    def test_wrong_issuer_or_audience_is_refused(self, api: Any, user: Any, overrides: Any) -> None:
        token = forge(overrides, user_id=str(user.pk))
        assert_error(me(api, token), 401, "token_not_valid")
        assert_error(verify(api, token), 401, "token_not_valid")

    @pytest.mark.parametrize("claim", ["iss", "aud"])
    def test_missing_issuer_or_audience_is_refused(self, api: Any, user: Any, claim: str) -> None:
        token = forge(drop=(claim,), user_id=str(user.pk))
        assert_error(me(api, token), 401, "token_not_valid")

    def test_a_forged_token_with_right_claims_of_a_live_family_works(self, api: Any, user: Any) -> None:
        # Control for the tests above: only the iss/aud change makes them fail.
        sid = claims(pair(api)["access"])["sid"]
        assert me(api, forge({"sid": sid}, user_id=str(user.pk))).status_code == 200


class TestTokenRefresh:
    def test_returns_a_new_pair_and_blacklists_the_old_refresh_token(self, api: Any, user: Any) -> None:
        first = pair(api)
        response = refresh(api, first["refresh"])
        assert response.status_code == 200
        assert_no_store(response)
        second = response.json()
        assert set(second) == {"access", "refresh"}
        assert second["refresh"] != first["refresh"] and second["access"] != first["access"]
        assert claims(second["refresh"])["sid"] == claims(first["refresh"])["sid"]
        old_jti = claims(first["refresh"])["jti"]
        assert BlacklistedToken.objects.filter(token__jti=old_jti).exists()
        assert not BlacklistedToken.objects.filter(token__jti=claims(second["refresh"])["jti"]).exists()
        assert me(api, second["access"]).status_code == 200
        # The first access token stays valid until it expires: its family is alive.
        assert me(api, first["access"]).status_code == 200

    def test_outstanding_rows_hold_a_fingerprint_never_the_token(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        row = OutstandingToken.objects.get(jti=claims(tokens["refresh"])["jti"])
        assert row.token.startswith("sha256:") and tokens["refresh"] not in row.token
        assert FamilyToken.objects.get(token=row).family.user == user

    def test_reuse_revokes_the_whole_family(self, api: Any, user: Any) -> None:
        first = pair(api)
        second = refresh(api, first["refresh"]).json()
        third = refresh(api, second["refresh"]).json()

        assert_error(refresh(api, first["refresh"]), 401, "token_not_valid")

        family = SignInFamily.objects.get(user=user)
        assert family.revoked_at is not None and family.revoke_reason == "reuse detected"
        event = RevocationEvent.objects.get(target=str(family.pk))
        assert (event.action, event.reason, event.user_id) == ("family", "reuse detected", user.pk)
        # The newest refresh token, never used, now fails as well ...
        assert_error(refresh(api, third["refresh"]), 401, "token_not_valid")
        # ... and every access token of the family is refused at once.
        for access in (first["access"], second["access"], third["access"]):
            assert_error(me(api, access), 401, "token_revoked")

    def test_reuse_leaves_the_users_other_sign_ins_alone(self, api: Any, user: Any) -> None:
        victim, other = pair(api), pair(api)
        refresh(api, victim["refresh"])
        assert refresh(api, victim["refresh"]).status_code == 401
        assert me(api, other["access"]).status_code == 200
        assert refresh(api, other["refresh"]).status_code == 200

    def test_an_access_token_is_not_a_refresh_token(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        assert_error(refresh(api, tokens["access"]), 401, "token_not_valid")
        assert refresh(api, tokens["refresh"]).status_code == 200  # family untouched

    def test_refresh_of_a_deactivated_user_fails(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        user.is_active = False
        user.save()
        assert_error(refresh(api, tokens["refresh"]), 401)

    def test_a_validly_signed_refresh_token_unknown_to_the_server_fails(self, api: Any, user: Any) -> None:
        sid = claims(pair(api)["refresh"])["sid"]
        forged = forge({"token_type": "refresh", "sid": sid}, user_id=str(user.pk))
        assert_error(refresh(api, forged), 401, "token_not_valid")


class TestTokenVerify:
    def test_valid_access_and_refresh_tokens(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        for raw in tokens.values():
            response = verify(api, raw)
            assert response.status_code == 200 and response.json() == {}
            assert_no_store(response)

    def test_rotated_refresh_token_is_refused(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        assert refresh(api, tokens["refresh"]).status_code == 200
        assert_error(verify(api, tokens["refresh"]), 401, "token_not_valid")

    def test_blacklisted_refresh_and_its_access_token_are_refused(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        assert (
            api.post("/api/token/blacklist/", {"refresh": tokens["refresh"]}, format="json").status_code
            == 200
        )
        assert_error(verify(api, tokens["refresh"]), 401, "token_not_valid")
        assert_error(verify(api, tokens["access"]), 401, "token_revoked")

    def test_revoked_familys_access_token_is_refused(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        revocation.family_revoke(family=SignInFamily.objects.get(user=user), reason="test")
        assert_error(verify(api, tokens["access"]), 401, "token_revoked")
        assert_error(verify(api, tokens["refresh"]), 401, "token_not_valid")

    def test_signed_out_everywhere_user_is_refused(self, api: Any, user: Any, other_user: Any) -> None:
        mine, theirs = pair(api), pair(api, "bob")
        revocation.user_sign_out_everywhere(user=user, reason="test")
        assert_error(verify(api, mine["access"]), 401, "token_revoked")
        assert_error(verify(api, mine["refresh"]), 401)
        assert verify(api, theirs["access"]).status_code == 200

    def test_expired_token_is_refused(self, api: Any, user: Any) -> None:
        sid = claims(pair(api)["access"])["sid"]
        stale = forge({"sid": sid, "exp": 1_000_000, "iat": 999_000}, user_id=str(user.pk))
        assert_error(verify(api, stale), 401, "token_not_valid")


class TestTokenBlacklist:
    def test_logout_ends_the_family_and_its_access_tokens(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        keep = pair(api)
        response = api.post("/api/token/blacklist/", {"refresh": tokens["refresh"]}, format="json")
        assert response.status_code == 200 and response.json() == {}
        assert_no_store(response)
        assert_error(me(api, tokens["access"]), 401, "token_revoked")
        assert_error(refresh(api, tokens["refresh"]), 401, "token_not_valid")
        family = SignInFamily.objects.get(pk=claims(tokens["refresh"])["sid"])
        assert family.revoke_reason == "signed out"
        event = RevocationEvent.objects.get(target=str(family.pk))
        assert (event.actor_id, event.reason) == (user.pk, "signed out")
        assert me(api, keep["access"]).status_code == 200

    def test_logout_twice_is_harmless(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        for _ in range(2):
            response = api.post("/api/token/blacklist/", {"refresh": tokens["refresh"]}, format="json")
            assert response.status_code == 200
        assert RevocationEvent.objects.count() == 1

    def test_access_token_or_garbage_is_refused(self, api: Any, user: Any) -> None:
        tokens = pair(api)
        for bad in (tokens["access"], "not-a-token"):
            response = api.post("/api/token/blacklist/", {"refresh": bad}, format="json")
            assert_error(response, 401, "token_not_valid")
        assert me(api, tokens["access"]).status_code == 200


def test_password_change_ends_api_sign_ins(api: Any, user: Any) -> None:
    tokens = pair(api)
    user.set_password("a-new-long-password-77")
    user.save()
    assert_error(me(api, tokens["access"]), 401, "token_revoked")
    assert_error(refresh(api, tokens["refresh"]), 401)
    assert pair(api, password="a-new-long-password-77")


def test_verify_refuses_an_access_token_whose_user_is_gone(api_client: Any, user: Any) -> None:
    from tests.factories import make_family, make_user

    pair = make_family(user)
    gone = make_user("carol")
    gone_pair = make_family(gone)
    gone.delete()
    assert api_client.post("/api/token/verify/", {"token": pair.access}, format="json").status_code == 200
    response = api_client.post("/api/token/verify/", {"token": gone_pair.access}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
