"""Credentials (browser sessions, API sign-in families) and the revocation records."""

import uuid

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


class SessionManager(BaseSessionManager):
    use_in_migrations = True


class Session(AbstractBaseSession):
    """A browser session: Django's session row plus owner and device metadata.

    The session key is a bearer secret (and the primary key); `public_id` is the
    identifier for URLs, forms, API ids and admin links.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="browser_sessions",
        db_index=False,  # covered by the (user, expire_date) index
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_activity = models.DateTimeField(_("last activity"), default=timezone.now)

    objects = SessionManager()

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"
        verbose_name = _("browser session")
        verbose_name_plural = _("browser sessions")
        indexes = [
            models.Index(fields=["user", "expire_date"], name="accounts_session_user_exp"),
            # Admin: newest-first changelist and date filter; search by IP, newest first.
            models.Index(fields=["created_at"], name="accounts_session_created"),
            models.Index(fields=["ip", "created_at"], name="accounts_session_ip"),
        ]
        permissions = [("revoke_session", _("Can revoke browser sessions"))]

    def __str__(self) -> str:
        return f"session {self.public_id}"

    @classmethod
    def get_session_store_class(cls):  # Django's hook
        from accounts.backends.db import SessionStore

        return SessionStore

    @property
    def is_active(self) -> bool:
        return self.expire_date > timezone.now()


class SignInFamily(models.Model):
    """One API sign-in: every refresh token rotated from one POST /api/token/.

    The id travels as the `sid` claim in each access and refresh token of the family.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="signin_families",
        db_index=False,  # covered by the (user, refresh_expires_at) index
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now)
    refresh_expires_at = models.DateTimeField(_("expires"))
    expires_at = models.DateTimeField(_("absolute expiry"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, db_index=True)
    revoke_reason = models.CharField(_("revoke reason"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("API sign-in")
        verbose_name_plural = _("API sign-ins")
        indexes = [
            models.Index(fields=["user", "refresh_expires_at"], name="accounts_family_user_exp"),
            models.Index(fields=["refresh_expires_at"], name="accounts_family_exp"),
            # Admin: newest-first changelist and date filter; search by IP, newest first.
            models.Index(fields=["created_at"], name="accounts_family_created"),
            models.Index(fields=["ip", "created_at"], name="accounts_family_ip"),
        ]
        permissions = [("revoke_token", _("Can revoke API sign-ins and refresh tokens"))]

    def __str__(self) -> str:
        return f"sign-in {self.id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.refresh_expires_at > timezone.now()


class FamilyToken(models.Model):
    """Links one of SimpleJWT's outstanding refresh tokens to its sign-in family."""

    token = models.OneToOneField(
        OutstandingToken, primary_key=True, on_delete=models.CASCADE, related_name="family_link"
    )
    family = models.ForeignKey(SignInFamily, on_delete=models.CASCADE, related_name="token_links")

    class Meta:
        verbose_name = _("family refresh token")
        verbose_name_plural = _("family refresh tokens")

    def __str__(self) -> str:
        return f"refresh token of {self.family_id}"


class AccessCutoff(models.Model):
    """The user's "signed out everywhere" time: access tokens issued before it are refused."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    not_before = models.DateTimeField(_("not before"), db_index=True)

    class Meta:
        verbose_name = _("access cutoff")
        verbose_name_plural = _("access cutoffs")

    def __str__(self) -> str:
        return f"access tokens before {self.not_before:%Y-%m-%d %H:%M:%S}"


class RevocationGeneration(models.Model):
    """A single row counting revocations; a changed value tells every server to reload.

    Incrementing it takes a row lock, so revocations commit in generation order.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"revocation generation {self.value}"


class RevocationEvent(models.Model):
    """Audit record of one revocation."""

    class Action(models.TextChoices):
        SESSION = "session", _("Browser session revoked")
        FAMILY = "family", _("API sign-in revoked")
        TOKEN = "token", _("Refresh token blacklisted")
        EVERYWHERE = "everywhere", _("Signed out everywhere")
        OTHERS = "others", _("Signed out everywhere else")
        CAP = "cap", _("Oldest credential revoked (per-user cap)")
        EMERGENCY = "emergency", _("Every credential issued before a time revoked")

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("subject user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="revocation_events",
    )
    action = models.CharField(_("what"), max_length=20, choices=Action.choices)
    target = models.CharField(_("target id"), max_length=64, blank=True, default="", db_index=True)
    count = models.PositiveIntegerField(_("credentials revoked"), default=0)
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    ip = models.GenericIPAddressField(_("actor IP"), null=True, blank=True)

    class Meta:
        verbose_name = _("revocation event")
        verbose_name_plural = _("revocation events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M:%S})"


class GlobalCutoff(models.Model):
    """The emergency switch: every credential issued before `not_before` is refused, for all users.

    One row per use of the switch; the latest `not_before` applies.
    """

    not_before = models.DateTimeField(_("not before"), db_index=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("global cutoff")
        verbose_name_plural = _("global cutoffs")
        ordering = ["-not_before"]

    def __str__(self) -> str:
        return f"every credential before {self.not_before:%Y-%m-%d %H:%M:%S}"


class KnownDevice(models.Model):
    """A device (browser and OS family) on a network (IPv4 /24, IPv6 /48) a user signed in from.

    A sign-in from a pair not seen before for that user sends a new-device alert.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="known_devices",
        db_index=False,  # covered by the unique (user, device, network) constraint
    )
    device = models.CharField(_("device"), max_length=200)
    network = models.CharField(_("network"), max_length=64, blank=True, default="")
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("known device")
        verbose_name_plural = _("known devices")
        constraints = [
            models.UniqueConstraint(fields=["user", "device", "network"], name="accounts_knowndevice_unique")
        ]

    def __str__(self) -> str:
        return f"{self.device} on {self.network or 'an unknown network'}"
