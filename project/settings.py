"""Project settings, read from the environment (12-factor); see .env.example."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# GENERAL
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _secret(name: str, dev_default: str) -> str:
    """Return a secret from the environment; with DEBUG off it must be set."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off.")


# Development-only fallbacks: never used when DEBUG is off.
SECRET_KEY = _secret("DJANGO_SECRET_KEY", "dev-only-secret-key-not-for-production-use-0123456789")
JWT_SIGNING_KEY = _secret("JWT_SIGNING_KEY", "dev-only-jwt-signing-key-not-for-production-use-012345")
if not DEBUG and SECRET_KEY == JWT_SIGNING_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from DJANGO_SECRET_KEY.")
# Previous secret keys, still accepted (never used to sign) during a routine rotation:
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key-fallbacks (docs/emergency.md)
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# APPS
# https://docs.djangoproject.com/en/5.2/ref/settings/#installed-apps
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
LOCAL_APPS = [
    "accounts",
    "api",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# MIDDLEWARE
# https://docs.djangoproject.com/en/5.2/topics/http/middleware/
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "project.middleware.DatabaseUnavailableMiddleware",  # DB down: 503, not a 500 page
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AccountsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASES
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# Embedded default: a SQLite file. DATABASE_URL switches to PostgreSQL.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    # Persistent connections: reconnecting per request costs far more than the request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("DJANGO_SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue
            # instead of failing with "database is locked" on lock upgrade.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CACHES
# https://docs.djangoproject.com/en/5.2/topics/cache/ and django-redis README
# Embedded default: per-process memory. REDIS_URL switches to a shared Redis.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("DJANGO_CACHE_PREFIX", default="authproject"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A dead Redis must cost a refused connection, never a hung request.
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                # Redis is a fast path only: on failure reads miss and the
                # database answers (sessions, revocation state).
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    # Sign-in throttle counters (accounts.throttling): errors are NOT ignored, so a dead
    # Redis refuses sign-ins (fail closed) instead of allowing unlimited guesses.
    CACHES["throttle"] = {
        **CACHES["default"],
        "OPTIONS": {**CACHES["default"]["OPTIONS"], "IGNORE_EXCEPTIONS": False},
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    SESSION_ENGINE = "accounts.backends.cached_db"
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
    }
    SESSION_ENGINE = "accounts.backends.db"

# AUTHENTICATION AND SESSIONS
# https://docs.djangoproject.com/en/5.2/topics/http/sessions/
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts-sessions"
LOGOUT_REDIRECT_URL = "home"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# SECURITY
# https://docs.djangoproject.com/en/5.2/topics/security/ and `manage.py check --deploy`
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
# The __Host- prefix needs Secure, Path=/ and no Domain: use it exactly when Secure.
SESSION_COOKIE_NAME = "__Host-sessionid" if SESSION_COOKIE_SECURE else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if CSRF_COOKIE_SECURE else "csrftoken"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# On with DEBUG off so `check --deploy` is clean (security.W021). The directive only
# consents to preloading; nothing is submitted. Set 0 if the domain must never be preloaded.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# SECURITY HEADERS / CSP
# https://django-csp.readthedocs.io/ (4.x) and https://www.w3.org/TR/CSP3/
# Our pages and Django's admin load scripts and styles from 'self' only: no inline script.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # plus the hash of the one <style> block of drf-spectacular's Swagger UI page (/api/docs/)
        "style-src": ["'self'", "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# STATIC FILES
# https://whitenoise.readthedocs.io/
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# DJANGO REST FRAMEWORK
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.RevocationCheckingJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_TOKEN_THROTTLE_RATE", default="20/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# SIMPLE JWT
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ISSUER": env.str("JWT_ISSUER", default="authproject"),
    "AUDIENCE": env.str("JWT_AUDIENCE", default="authproject-api"),
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", default=86400)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "LEEWAY": 0,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.AccessToken",),
}

# ACCOUNTS (this project's pluggable app; defaults in accounts/conf.py)
ACCOUNTS = {
    "TRUSTED_PROXY_COUNT": env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0),
    "FAMILY_ABSOLUTE_LIFETIME": env.int("JWT_FAMILY_ABSOLUTE_LIFETIME", default=60 * 60 * 24 * 30),
    # Browser sessions: SESSION_COOKIE_AGE is the idle window; this caps a session's total life.
    "SESSION_ABSOLUTE_LIFETIME": env.int("DJANGO_SESSION_ABSOLUTE_LIFETIME", default=60 * 60 * 24 * 30),
    # Sign-in throttling (site, admin, /api/token/): failures per account / per client IP per window.
    "LOGIN_FAILURES_PER_ACCOUNT": env.int("DJANGO_LOGIN_FAILURES_PER_ACCOUNT", default=5),
    "LOGIN_FAILURES_PER_IP": env.int("DJANGO_LOGIN_FAILURES_PER_IP", default=50),
    "LOGIN_FAILURE_WINDOW": env.int("DJANGO_LOGIN_FAILURE_WINDOW", default=15 * 60),
    # Cap on active sessions + API sign-ins per user; the oldest go first (0: no cap).
    "MAX_CREDENTIALS_PER_USER": env.int("DJANGO_MAX_CREDENTIALS_PER_USER", default=100),
    # Emails: sign-in from a new device and network; credentials revoked by an operator.
    "NEW_DEVICE_ALERTS": env.bool("DJANGO_NEW_DEVICE_ALERTS", default=True),
    "REVOCATION_ALERTS": env.bool("DJANGO_REVOCATION_ALERTS", default=True),
    "SITE_URL": env.str("SITE_URL", default=""),
    # Privacy (docs/privacy.md): what is stored about each sign-in, and for how long.
    "TRUNCATE_IP_ADDRESSES": env.bool("DJANGO_TRUNCATE_IP_ADDRESSES", default=False),
    "PARSED_USER_AGENT_ONLY": env.bool("DJANGO_PARSED_USER_AGENT_ONLY", default=False),
    "AUDIT_RETENTION_DAYS": env.int("DJANGO_AUDIT_RETENTION_DAYS", default=365),
    "CREDENTIAL_RETENTION_DAYS": env.int("DJANGO_CREDENTIAL_RETENTION_DAYS", default=0),
    "KNOWN_DEVICE_RETENTION_DAYS": env.int("DJANGO_KNOWN_DEVICE_RETENTION_DAYS", default=180),
}

# EMAIL
# https://docs.djangoproject.com/en/5.2/topics/email/ and django-environ's email_url
# Default: printed to the console. e.g. EMAIL_URL=smtp+tls://user:password@smtp.example.com:587
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# TOKEN INTROSPECTION (RFC 7662, POST /api/token/introspect/)
# Services allowed to introspect, as HTTP Basic credentials: "client-id:secret,other-id:secret".
TOKEN_INTROSPECTION_CLIENTS: dict[str, str] = {}
for _entry in env.list("TOKEN_INTROSPECTION_CLIENTS", default=[]):
    _client_id, _, _client_secret = _entry.partition(":")
    if not _client_id or len(_client_secret) < 32:
        raise ImproperlyConfigured(
            "TOKEN_INTROSPECTION_CLIENTS: each entry must be client-id:secret, with 32+ secret characters."
        )
    TOKEN_INTROSPECTION_CLIENTS[_client_id] = _client_secret

# OPENAPI
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Sessions and JWTs, one place to revoke them",
    "DESCRIPTION": "JSON API: SimpleJWT sign-in families with instant revocation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# CORS
# https://github.com/adamchainz/django-cors-headers
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

# LOGGING
# https://docs.djangoproject.com/en/5.2/topics/logging/
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # django-redis logs each ignored exception; one line per failure is enough.
        "django_redis": {"level": "ERROR"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
