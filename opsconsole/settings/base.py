"""Settings shared by every environment; everything that differs comes from the environment.

Every variable read here is listed, with its default, in the README's Configuration section.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from opsconsole.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(
            f"{name} is not set. Run through `make run` / `make test` (which start embedded "
            f"servers) or set {name} yourself; see the README's Configuration section."
        )
    return value


def env_bool(name: str, default: bool) -> bool:
    return env(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "dev-only-not-a-secret-opsconsole-local-development-key")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Seeding demo users with a known password is refused where this is False (production).
DEMO_ALLOWED = True

# The console's own apps; opsconsole/urls.py mounts each one's pages and API from this list.
DOMAIN_APPS = [
    "incidents",
    "incidents.slo",
    "incidents.policies",
    "founder",
    "compensation",
    "reviews",
]

INSTALLED_APPS = [
    "pghistory.admin",  # before django.contrib.admin so its templates win
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "pgtrigger",
    "pghistory",
    "django_structlog",
    "opsconsole",
    *DOMAIN_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "opsconsole.middleware.SessionTimeoutMiddleware",
    "opsconsole.middleware.ConsoleLoginRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "opsconsole.middleware.HistoryContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsconsole.urls"
WSGI_APPLICATION = "opsconsole.wsgi.application"
ASGI_APPLICATION = "opsconsole.asgi.application"
AUTH_USER_MODEL = "opsconsole.User"

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
                "django.template.context_processors.csp",
                "opsconsole.context_processors.console",
            ],
            "builtins": [
                "django.templatetags.static",
                "django_htmx.templatetags.django_htmx",
                "opsconsole.templatetags.console",
            ],
        },
    }
]

# --- Data stores -------------------------------------------------------------------------------

DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=0)}
# psycopg's own pool (psycopg-pool); Django keeps no persistent connections alongside it.
DATABASE_POOL = env_bool("DATABASE_POOL", True)
if DATABASE_POOL:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(env("DATABASE_POOL_MIN", "2")),
        "max_size": int(env("DATABASE_POOL_MAX", "10")),
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "opsconsole"),
        "OPTIONS": {
            # Redis is a cache here, never the truth: when it is down, reads miss and writes
            # are dropped, and every caller falls back to PostgreSQL.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Auth, sessions, login hardening ----------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_ENGINE = "django.contrib.sessions.backends.db"  # survives a Redis outage
SESSION_IDLE_TIMEOUT = timedelta(minutes=int(env("SESSION_IDLE_MINUTES", "30")))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=int(env("SESSION_ABSOLUTE_HOURS", "12")))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page, not from the cookie

AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(env("PROXY_COUNT", "0")) or None
AXES_VERBOSE = False

# --- Security headers ---------------------------------------------------------------------------

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- I18N, static --------------------------------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve from the apps in development without collectstatic

# A bulk request may carry 1,000 events of a few KB each.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# --- API -----------------------------------------------------------------------------------------

API_PREFIX = "/api/"
API_DOCS_PATH = "/api/docs/"  # Swagger UI: a page for people, behind the sign-in page
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "opsconsole.apikeys.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["opsconsole.apikeys.ConsoleAccess"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "opsconsole.pagination.KeysetApiPagination",
    "DEFAULT_SCHEMA_CLASS": "opsconsole.api.OpsAutoSchema",
    "EXCEPTION_HANDLER": "opsconsole.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Opsconsole API",
    "DESCRIPTION": (
        "The console's JSON API. People use their session (with CSRF); platform services send "
        "`Authorization: Api-Key <key>` with the scopes each endpoint names. Errors are "
        '`{"error": {"code", "message", "fields"}}`. Writes accept an `Idempotency-Key` header.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IncidentSeverityEnum": "incidents.models.Severity.choices",
        "SeverityHintEnum": "incidents.models.SeverityHint.choices",
        "IncidentSourceEnum": "incidents.models.Source.choices",
        "EventSourceEnum": "incidents.validation.SOURCES",
        "IncidentStatusEnum": "incidents.models.Status.choices",
        "ProposalStatusEnum": "compensation.models.Status.choices",
        "IssueStatusEnum": "compensation.models.IssueStatus.choices",
        "FounderActionTypeEnum": "founder.models.ActionType.choices",
        "FounderActionStatusEnum": "founder.models.ActionStatus.choices",
    },
}

# --- Celery --------------------------------------------------------------------------------------
# No lost work: a task is acknowledged only when it has finished, a task whose worker died is
# given back to the queue, and Redis hides an unacknowledged task for longer than any task may
# run, so it is never handed out twice while it is still running.

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(env("CELERY_SOFT_TIME_LIMIT", str(25 * 60)))
CELERY_TASK_TIME_LIMIT = int(env("CELERY_TIME_LIMIT", str(30 * 60)))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2,
    "socket_connect_timeout": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".data" / "celerybeat-schedule")

# --- Outbox --------------------------------------------------------------------------------------

OUTBOX_MAX_ATTEMPTS = int(env("OUTBOX_MAX_ATTEMPTS", "12"))
OUTBOX_BACKOFF_BASE_SECONDS = float(env("OUTBOX_BACKOFF_BASE_SECONDS", "5"))
OUTBOX_BACKOFF_MAX_SECONDS = float(env("OUTBOX_BACKOFF_MAX_SECONDS", "3600"))
OUTBOX_TIMEOUT_SECONDS = float(env("OUTBOX_TIMEOUT_SECONDS", "5"))

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)

# --- Incidents -----------------------------------------------------------------------------------

# A resolved incident whose errors return within this window reopens as "regressed"; later, the
# errors open a new incident.
INCIDENT_REGRESSION_WINDOW = timedelta(days=int(env("INCIDENT_REGRESSION_DAYS", "7")))
# Error events may be stamped this far in the future (senders' clocks drift) and this far back.
INCIDENT_CLOCK_SKEW_SECONDS = int(env("INCIDENT_CLOCK_SKEW_SECONDS", "300"))
INCIDENT_EVENT_MAX_AGE_DAYS = int(env("INCIDENT_EVENT_MAX_AGE_DAYS", "30"))
# A web process folds count deltas inline at most this often; batches in between are folded
# together by one deferred fold (incidents/operations/ingest.py).
INCIDENT_FOLD_INTERVAL_SECONDS = float(env("INCIDENT_FOLD_INTERVAL_SECONDS", "1"))

# --- Founder actions and enforcement -----------------------------------------------------------

# How long a tenant's enforcement facts stay in Redis (each change rewrites them at its commit).
ENFORCEMENT_CACHE_SECONDS = int(env("ENFORCEMENT_CACHE_SECONDS", "600"))

# --- Logging -------------------------------------------------------------------------------------

LOG_FORMAT = env("LOG_FORMAT", "console")  # "json" in production
LOG_LEVEL = env("LOG_LEVEL", "INFO")
DJANGO_STRUCTLOG_CELERY_ENABLED = True

LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
