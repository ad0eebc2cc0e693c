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
