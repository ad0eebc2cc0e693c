"""Database session engine storing sessions in accounts.Session with owner and device."""

import re
from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import ValidationError
from django.db import router
from django.utils import timezone

from accounts.privacy import stored_ip, stored_user_agent

_KEY_SHAPE = re.compile(r"[a-z0-9]{8,40}")


class SessionMetadataMixin:
    """Fill the owner, device and activity columns whenever Django writes the row.

    Request metadata arrives as attributes set by accounts.middleware
    (`client_ip`, `user_agent`), so the constructor keeps Django's signature and
    Client.login()/force_login() work unchanged (they simply leave them unset).
    """

    client_ip: str | None = None
    user_agent: str | None = None
    _inserting = False

    @classmethod
    def get_model_class(cls):  # Django's hook
        from accounts.models import Session

        return Session

    def _validate_session_key(self, key: str | None) -> bool:  # Django's hook
        # Django accepts any 8+ character string, so a cookie carrying a NUL byte (a
        # DataError on PostgreSQL: a 500) or kilobytes would reach the database and cache.
        # Accept only the shape this engine issues (Django's a-z0-9 keys, column max 40).
        return bool(key) and _KEY_SHAPE.fullmatch(key) is not None

    def save(self, must_create: bool = False) -> None:
        # Django's save() does not tell create_model_instance() whether it inserts.
        self._inserting = must_create
        super().save(must_create=must_create)

    def create_model_instance(self, data: dict[str, Any]):  # Django's hook
        obj = super().create_model_instance(data)
        obj.user_id = _user_pk(data.get(SESSION_KEY))
        obj.last_activity = timezone.now()
        # Stored as the privacy settings say (accounts.privacy): maybe truncated, maybe parsed only.
        if self.client_ip is not None:
            obj.ip = stored_ip(self.client_ip)
        if self.user_agent is not None:
            obj.user_agent = stored_user_agent(self.user_agent)
        if not self._inserting:
            # An update writes only the columns set above: leaving the others out of the
            # instance's __dict__ makes Model.save() update just the loaded fields, so the
            # row keeps its public id, creation time and (when unknown here) device.
            keep = {"public_id", "created_at"}
            if self.client_ip is None:
                keep.add("ip")
            if self.user_agent is None:
                keep.add("user_agent")
            for name in keep:
                obj.__dict__.pop(name, None)
            obj._state.adding = False
            obj._state.db = router.db_for_write(type(obj), instance=obj)
        return obj


def _user_pk(value: Any) -> Any:
    """Return the user primary key stored by django.contrib.auth.login(), or None."""
    if value is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


class SessionStore(SessionMetadataMixin, DBStore):
    pass
