"""Request and response shapes of the token endpoints."""

from rest_framework import serializers


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=4096, trim_whitespace=False)
    # No length cap: a long password is a wrong password (401), as for any other guess;
    # PBKDF2 hashes a long key once, and the parser bounds the body size.
    password = serializers.CharField(trim_whitespace=False)


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=8192)


class TokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=8192)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every API error: a message and a stable machine-readable code."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="Per-field messages (code `invalid` only).")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()


class CredentialSerializer(serializers.Serializer):
    """One browser session (kind "session") or API sign-in (kind "token")."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["session", "token"])
    created = serializers.DateTimeField()
    last_used = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField(allow_blank=True)
    device = serializers.CharField()
    current = serializers.BooleanField()


class RevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()


class TokenWithHintSerializer(serializers.Serializer):
    """RFC 7009 section 2.1 and RFC 7662 section 2.1: the token, and optionally what it is."""

    token = serializers.CharField(max_length=8192, help_text="An access or refresh token.")
    token_type_hint = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="`access_token` or `refresh_token`: which kind to look for first. "
        "Any other value is ignored (every kind is searched).",
    )


class IntrospectionSerializer(serializers.Serializer):
    """RFC 7662 section 2.2. An inactive token gets exactly `{"active": false}`."""

    active = serializers.BooleanField()
    token_type = serializers.ChoiceField(choices=["access_token", "refresh_token"], required=False)
    sub = serializers.CharField(required=False, help_text="The user's id, as a string.")
    username = serializers.CharField(required=False)
    exp = serializers.IntegerField(required=False, help_text="Expiry, seconds since the epoch.")
    iat = serializers.IntegerField(required=False, help_text="Issued at, seconds since the epoch.")
    jti = serializers.CharField(required=False)
    sid = serializers.CharField(required=False, help_text="The sign-in (family) id.")
    iss = serializers.CharField(required=False)
    aud = serializers.CharField(required=False)
