"""Cached database session engine (Redis in front of accounts.Session), used with REDIS_URL."""

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from accounts.backends.db import SessionMetadataMixin


class SessionStore(SessionMetadataMixin, CachedDBStore):
    pass
