"""SimpleJWT's refresh-token tables, re-registered so no page ever shows the token text."""

import hashlib
from importlib import import_module
from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.admin.base import (
    FastListMixin,
    ReadOnlyMixin,
    RevokeActionMixin,
    credential_row,
    datetime_column,
    status_badge,
    user_link,
    users_matching,
)
from accounts.admin.credentials import family_link
from accounts.request_meta import client_ip
from accounts.services import revocation

FINGERPRINT_PREFIX = "sha256:"


def fingerprint(stored: str) -> str:
    """Return 12 hex digits identifying a stored token, never the token itself.

    This project stores "sha256:<hex>"; rows written elsewhere may hold a raw JWT,
    which is hashed here so it never reaches the page.
    """
    if stored.startswith(FINGERPRINT_PREFIX):
        return stored[len(FINGERPRINT_PREFIX) :][:12]
    return hashlib.sha256(stored.encode()).hexdigest()[:12]


def token_status(token: OutstandingToken) -> str:
    if _blacklisted(token):
        return "revoked"
    return "active" if token.expires_at > timezone.now() else "expired"


def _blacklisted(token: OutstandingToken) -> bool:
    try:
        return token.blacklistedtoken is not None
    except BlacklistedToken.DoesNotExist:
        return False


def _family_id(token: OutstandingToken) -> Any:
    link = getattr(token, "family_link", None)
    return link.family_id if link is not None else None


class TokenStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", _("Active")), ("expired", _("Expired")), ("blacklisted", _("Blacklisted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        # EXISTS, not a LEFT JOIN ... IS NULL: PostgreSQL then plans an indexed anti-join.
        blacklisted = Exists(BlacklistedToken.objects.filter(token=OuterRef("pk")))
        if self.value() == "active":
            return queryset.filter(~blacklisted, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(~blacklisted, expires_at__lte=now)
        if self.value() == "blacklisted":
            return queryset.filter(blacklisted)
        return queryset


class TokenSearchMixin:
    """Search by the start of a username, an exact email, or an exact token id (jti)."""

    search_fields = ("=jti", "^user__username", "=user__email")
    search_help_text = _("The start of a username, an email address, or a token id (jti).")
    user_path = "user"
    jti_path = "jti"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple:
        term = search_term.strip()
        if not term:
            return queryset, False
        if len(term) == 32 and all(c in "0123456789abcdef" for c in term):
            return queryset.filter(**{self.jti_path: term}), False
        return queryset.filter(**{f"{self.user_path}__in": users_matching(term)}), False


class TokenColumnsMixin:
    """Columns shared by the outstanding and blacklisted token lists."""

    def _token(self, obj: Any) -> OutstandingToken:
        return obj

    @admin.display(description=_("fingerprint"))
    def token_fingerprint(self, obj: Any) -> str:
        return fingerprint(self._token(obj).token)

    @admin.display(description=_("user"))
    def owner(self, obj: Any) -> str:
        return user_link(self._token(obj).user)

    @admin.display(description=_("API sign-in"))
    def family(self, obj: Any) -> str:
        return family_link(_family_id(self._token(obj)))


# Import SimpleJWT's registrations first (whatever the app order), then replace them:
# its OutstandingToken admin shows the stored token text.
import_module("rest_framework_simplejwt.token_blacklist.admin")
for _model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(
    TokenSearchMixin, TokenColumnsMixin, RevokeActionMixin, FastListMixin, admin.ModelAdmin
):
    """Every refresh token issued; blacklisting one revokes its whole sign-in."""

    list_display = ("token_fingerprint", "jti", "owner", "family", "created", "expires", "status")
    list_filter = (TokenStatusFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("user", "family_link", "blacklistedtoken")
    sortable_by = ()
    ordering = ("-id",)
    status_ordering = {"expired": ("-expires_at",)}
    created = datetime_column("created_at", _("created"))
    expires = datetime_column("expires_at", _("expires"))
    actions = ("blacklist_tokens",)
    revoke_permissions = ("accounts.revoke_token",)
    revoke_action_names = ("blacklist_tokens",)
    fields = ("token_fingerprint", "jti", "owner", "family", "created_at", "expires_at", "status")
    readonly_fields = fields

    @admin.display(description=_("status"))
    def status(self, obj: OutstandingToken) -> str:
        return status_badge(token_status(obj))

    @admin.action(permissions=["revoke"], description=_("Blacklist selected refresh tokens"))
    def blacklist_tokens(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        def revoke(qs: QuerySet, reason: str) -> int:
            tokens = list(qs.filter(blacklistedtoken__isnull=True).select_related(None).only("pk"))
            revocation.refresh_tokens_blacklist(
                tokens=tokens, actor=request.user, reason=reason, ip=client_ip(request)
            )
            return len(tokens)

        def describe(token: OutstandingToken) -> dict[str, Any]:
            row = credential_row(
                token, kind=_("refresh token"), ident=fingerprint(token.token), status=token_status(token)
            )
            row["expires"] = token.expires_at
            return row

        return self.confirm_or_revoke(
            request,
            queryset,
            action="blacklist_tokens",
            title=_("Blacklist refresh tokens"),
            describe=describe,
            selected_value=lambda t: str(t.pk),
            revoke=revoke,
            done_message=lambda n: (
                ngettext(
                    "Blacklisted %(count)d refresh token (and revoked its sign-in).",
                    "Blacklisted %(count)d refresh tokens (and revoked their sign-ins).",
                    n,
                )
                % {"count": n}
            ),
        )


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(
    ReadOnlyMixin, TokenSearchMixin, TokenColumnsMixin, FastListMixin, admin.ModelAdmin
):
    """Refresh tokens that were rotated or revoked; read-only."""

    list_display = (
        "token_fingerprint",
        "jti",
        "owner",
        "family",
        "created_at",
        "expires_at",
        "blacklisted_at",
    )
    list_filter = (("blacklisted_at", admin.DateFieldListFilter),)
    list_select_related = ("token__user", "token__family_link")
    sortable_by = ()
    # Newest token first; the unique token_id index serves it, also joined to a user's tokens.
    ordering = ("-token_id",)
    actions = None
    user_path = "token__user"
    jti_path = "token__jti"
    created = datetime_column("token.created_at", _("created"))
    expires = datetime_column("token.expires_at", _("expires"))
    blacklisted = datetime_column("blacklisted_at", _("blacklisted"))
    fields = ("token_fingerprint", "jti", "owner", "family", "created_at", "expires_at", "blacklisted_at")
    readonly_fields = fields

    def _token(self, obj: BlacklistedToken) -> OutstandingToken:
        return obj.token

    @admin.display(description=_("jti"))
    def jti(self, obj: BlacklistedToken) -> str:
        return obj.token.jti

    @admin.display(description=_("created"))
    def created_at(self, obj: BlacklistedToken) -> Any:
        return obj.token.created_at

    @admin.display(description=_("expires"))
    def expires_at(self, obj: BlacklistedToken) -> Any:
        return obj.token.expires_at
