"""SessionMiddleware whose engine (and database) follow the bench URL of the request."""

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware

from bench import router

DB_ENGINE = "accounts.backends.db"
CACHED_ENGINE = "accounts.backends.cached_db"


class VariantSessionMiddleware(SessionMiddleware):
    """/bench/session-sqlite/ and /bench/session-db/ use the db engine, the rest the configured one."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self.db_store = import_module(DB_ENGINE).SessionStore

    def process_request(self, request: Any) -> None:
        path = request.path_info
        sqlite = path.startswith("/bench/session-sqlite/") and "sqlite" in settings.DATABASES
        router.use("sqlite" if sqlite else None)
        store = self.db_store if sqlite or path.startswith("/bench/session-db/") else self.SessionStore
        request.session = store(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
