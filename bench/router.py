"""Send every query to the database alias the bench selected for the current request."""

import threading
from typing import Any

_local = threading.local()


def use(alias: str | None) -> None:
    """Route this thread's queries to `alias` (None: the default database)."""
    _local.alias = alias


class BenchRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return getattr(_local, "alias", None)

    db_for_write = db_for_read

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True
