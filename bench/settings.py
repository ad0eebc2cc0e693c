"""Bench-only settings: the project's settings plus DRF's token table, bench URLs and a DB router.

Nothing here changes how the project runs; only the bench processes load this module.
"""

import os
import secrets

# Production-like defaults (DEBUG off: no per-query logging), plain HTTP on loopback.
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_hex(24))
os.environ.setdefault("JWT_SIGNING_KEY", "bench-jwt-" + secrets.token_hex(24))
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("DJANGO_CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("DJANGO_SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("API_TOKEN_THROTTLE_RATE", "100000/min")
# A long in-process run on a busy machine can outlast the default 5 minutes; the lifetime
# changes nothing in the per-request cost.
os.environ.setdefault("JWT_ACCESS_TOKEN_LIFETIME", "3600")

from project.settings import *  # noqa: F403
from project.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]
ROOT_URLCONF = "bench.urls"

# A second database, so session-on-SQLite runs in the same process as PostgreSQL.
_sqlite = os.environ.get("BENCH_SQLITE_PATH", "")
if _sqlite:
    DATABASES["sqlite"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _sqlite,
        "OPTIONS": {"timeout": 20},
    }
DATABASE_ROUTERS = ["bench.router.BenchRouter"]

# Pick the session engine per URL (db or cached_db) so one server serves every variant.
MIDDLEWARE = [
    "bench.middleware.VariantSessionMiddleware" if m.endswith(".SessionMiddleware") else m for m in MIDDLEWARE
]
