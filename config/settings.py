"""Settings for the runtime error journal, read from the environment."""

import re
import warnings
from pathlib import Path

from environs import Env
from marshmallow.validate import Range, Regexp, ValidationError

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()
# A local .env (written by `make run`) keeps manage.py commands in a
# development checkout on the same settings as the server.
env.read_env(BASE_DIR / ".env", recurse=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-do-not-deploy"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off."
        )
    warnings.warn(
        "DJANGO_SECRET_KEY is not set; using the development key.", stacklevel=1
    )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "runtime_errors",
]

MIDDLEWARE = [
    "runtime_errors.edges.AccessLogMiddleware",
    "runtime_errors.edges.ApiNotFoundMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "runtime_errors.edges.ApiTrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "runtime_errors.edges.CleanQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "runtime_errors.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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

# Database: SQLite in WAL mode for `make run`, PostgreSQL with Django's
# connection pool in production and CI (ASGI would otherwise open and close
# a connection on every request).
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": env.dj_db_url("DATABASE_URL", default=DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A pooled connection may have died with the database; checking it when
    # it is handed out lets the service recover by itself.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _POOL_MIN = env.int("DATABASE_POOL_MIN_SIZE", default=2, validate=Range(min=0))
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": _POOL_MIN,
        "max_size": env.int(
            "DATABASE_POOL_MAX_SIZE",
            default=max(10, _POOL_MIN),
            validate=Range(min=max(1, _POOL_MIN)),
        ),
        "timeout": env.float(
            "DATABASE_POOL_TIMEOUT", default=5.0, validate=Range(min=0.1)
        ),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# Live push. Updates of one error are rated to one per interval (seconds),
# so only created and viewed messages, one per request, can pile up in a
# socket's channel: a capacity of 5,000 lets a busy consumer fall seconds
# behind a heavy ingest without dropping them. Sockets renew their group
# membership well within the group expiry, however long they stay open.
RUNTIME_ERRORS_UPDATE_INTERVAL = env.float(
    "RUNTIME_ERRORS_UPDATE_INTERVAL", default=0.5, validate=Range(min=0.01)
)
_CHANNEL_LAYER_CONFIG = {
    "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=5000, validate=Range(min=1)),
    "expiry": 60,
    "group_expiry": env.int(
        "CHANNEL_LAYER_GROUP_EXPIRY", default=86400, validate=Range(min=1)
    ),
}
if REDIS_URL:
    # A socket waits for its next message in a blocking pop of 5 seconds;
    # redis-py's default read timeout is 5 seconds too, and would end every
    # idle socket with an error. The read timeout stays, past the pop's.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                **_CHANNEL_LAYER_CONFIG,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": _CHANNEL_LAYER_CONFIG,
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
# Pages, the API and the filters all speak UTC, as their labels say.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# Served over https (directly or behind a proxy that ends TLS), cookies must
# not travel over plain http.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool(
    "DJANGO_SECURE_COOKIES", default=False
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Error text from services is hostile input; no page runs inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["runtime_errors.parsers.IngestJSONParser"],
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "runtime_errors.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Ingest is counted per key in the shared cache; a batch is one request.
    "DEFAULT_THROTTLE_RATES": {
        "ingest": env.str(
            "RUNTIME_ERRORS_INGEST_RATE",
            default="1200/min",
            validate=Regexp(
                r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)\Z",
                error="Expected requests per period, such as 100/s, 1200/min, "
                "50000/hour or 1000000/day.",
            ),
        ),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Runtime error journal",
    "DESCRIPTION": "Ingest runtime errors from services; review them as staff.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "runtime_errors.schema.bound_ingest_batches",
    ],
}

# Links from context fields to other tools, e.g.
# {"run_id": "https://ci.example/runs/{run_id}"}.
RUNTIME_ERRORS_LINKS = env.json("RUNTIME_ERRORS_LINKS", default={})

# The alert stack polls the feed while its socket is down; tests that must
# prove the socket alone delivers an alert switch this off.
RUNTIME_ERRORS_ALERT_POLLING = env.bool("RUNTIME_ERRORS_ALERT_POLLING", default=True)

# `prune_runtime_errors` removes viewed errors older than this many days.
RUNTIME_ERRORS_PRUNE_AFTER_DAYS = env.int(
    "RUNTIME_ERRORS_PRUNE_AFTER_DAYS", default=90, validate=Range(min=0)
)

# Error-level records of this project's own loggers become journal entries.
RUNTIME_ERRORS_CAPTURE = env.bool("RUNTIME_ERRORS_CAPTURE", default=True)

# Redaction beyond the built-in rules: key words (matched as words, like the
# built-in ones) and regular expressions whose matches are replaced.
RUNTIME_ERRORS_REDACT_KEYS = env.list("RUNTIME_ERRORS_REDACT_KEYS", default=[])


def _redact_patterns(patterns):
    # Checked here, where every server process reads it: a pattern that fails
    # would fail every report at ingest.
    if not isinstance(patterns, list) or not all(
        isinstance(pattern, str) for pattern in patterns
    ):
        raise ValidationError("Expected a JSON list of regular expressions.")
    for pattern in patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise ValidationError(f"{pattern!r} does not compile: {error}.") from None
        if compiled.fullmatch(""):
            raise ValidationError(f"{pattern!r} matches empty text.")


RUNTIME_ERRORS_REDACT_PATTERNS = env.json(
    "RUNTIME_ERRORS_REDACT_PATTERNS", default=[], validate=_redact_patterns
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "runtime_errors.redaction.SingleLineFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    # The product's own log lines go through the same redaction as reports.
    "filters": {
        "redact": {"()": "runtime_errors.redaction.RedactingFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
        "journal": {
            "class": "runtime_errors.capture.JournalHandler",
            "level": "ERROR",
        },
    },
    "root": {
        "handlers": ["console", "journal"] if RUNTIME_ERRORS_CAPTURE else ["console"],
        "level": "WARNING",
    },
    "loggers": {
        "runtime_errors": {"level": "INFO"},
        # Django's own console handler would print each of its lines a second
        # time, unredacted, beside the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
