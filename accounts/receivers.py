"""Automatic revocation: a password change or deactivation ends the user's other credentials.

Any `user.save()` that changes the password (site password change, reset link, admin,
`set_password()` in a shell) or deactivates the user (admin form, shell, `update_fields`)
goes through the revocation service, with the request's user and IP as the audit actor
when there is a request. A change made by the user themself keeps the credential making
it; any other change signs the user out everywhere.

Limitation: `QuerySet.update(is_active=False)` (or of `password`) sends no signal, so
nothing is revoked. Sessions are refused anyway (Django's backend refuses inactive users)
and so is refreshing (rotation checks `is_active`), but access tokens already issued stay
valid for the rest of their lifetime. After a bulk update, call
`accounts.services.revocation.user_sign_out_everywhere` for each user.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save

from accounts.audit import current_actor_and_ip, current_request
from accounts.services import revocation, signins

WATCHED_FIELDS = {"password", "is_active"}


def remember_credential_change(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """pre_save: note whether this save changes the password or deactivates the user."""
    instance._accounts_credential_change = None
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not WATCHED_FIELDS & set(update_fields):
        return
    old = sender._default_manager.filter(pk=instance.pk).values("password", "is_active").first()
    if old is None:
        return
    if old["is_active"] and not instance.is_active:
        instance._accounts_credential_change = "deactivated"
    elif old["password"] != instance.password and _is_password_change(instance):
        instance._accounts_credential_change = "password changed"


def _is_password_change(user: Any) -> bool:
    """Tell a new password from a re-hash of the same one.

    set_password() keeps the raw password on `_password` until the save; Django's own
    hash upgrade at login (check_password's setter) clears it first, because "password
    hash upgrades shouldn't be considered password changes". A newly unusable password
    (set_unusable_password()) does end the user's credentials.
    """
    return getattr(user, "_password", None) is not None or not user.has_usable_password()


def revoke_on_credential_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_save: sign the user out everywhere, except the credential making the change."""
    reason = getattr(instance, "_accounts_credential_change", None)
    if reason is None:
        return
    instance._accounts_credential_change = None
    actor, ip = current_actor_and_ip()
    request = current_request()
    if reason == "password changed" and actor is not None and str(actor.pk) == str(instance.pk):
        auth = getattr(request, "auth", None)
        keep_family = auth.get("sid") if hasattr(auth, "get") else None
        session = getattr(request, "session", None)
        keep_session = session.session_key if session is not None and not keep_family else None
        revocation.user_sign_out_others(
            user=instance,
            keep_session_key=keep_session,
            keep_family_id=keep_family,
            actor=actor,
            reason=reason,
            ip=ip,
        )
    else:
        revocation.user_sign_out_everywhere(user=instance, actor=actor, reason=reason, ip=ip)


def record_session_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """user_logged_in: a browser session was created (site, admin, signup or test client login)."""
    if request is not None:
        signins.session_signed_in(request=request, user=user)


def record_session_sign_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """user_logged_out: the browser session is about to end (site or admin sign-out)."""
    if request is not None:
        signins.session_signed_out(request=request, user=user)


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(
        remember_credential_change, sender=user_model, dispatch_uid="accounts.credential_change.pre"
    )
    post_save.connect(
        revoke_on_credential_change, sender=user_model, dispatch_uid="accounts.credential_change.post"
    )
    user_logged_in.connect(record_session_sign_in, dispatch_uid="accounts.session_sign_in")
    user_logged_out.connect(record_session_sign_out, dispatch_uid="accounts.session_sign_out")
