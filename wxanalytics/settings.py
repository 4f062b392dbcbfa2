"""wxanalytics settings, read from the environment.

Development needs nothing set: SQLite, tasks run in-process, DEBUG on. Production is
the same code with DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis) set; malformed values fail at start-up, not at first use.
"""

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name) or default
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a decimal number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")
    SECRET_KEY = "dev-only-insecure-key-never-used-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Absolute base URL used in QR codes and short links (what a phone opens).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "wxanalytics.apps.SiteAdminConfig",  # django.contrib.admin whose index is the home page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "campaigns",
    "events",
    "reports",
]

MIDDLEWARE = [
    "wxanalytics.overload.RefuseStaleRequestsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "wxanalytics.security.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The event API and short links take a shorter chain, without session, auth, messages,
    # CSRF and static files (wxanalytics/hot_paths.py; the list stays whole for the rest).
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions (it reads the language chosen in the header), before CommonMiddleware
    # (which may redirect); our URLs carry no language prefix, so the choice is the
    # django_language cookie, then the browser's Accept-Language, then LANGUAGE_CODE.
    # It runs on every path (on the hot paths as a copy that remembers its choice,
    # wxanalytics/hot_paths.py): the API's and short links' messages are translated too.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wxanalytics.security.ContentSecurityPolicyMiddleware",
    "wxanalytics.security.LoginRateLimitMiddleware",
]

LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
# Reverse proxies in front of the app that append to X-Forwarded-For (the README's command
# starts one nginx: 1). The client address is the entry the outermost one wrote.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Requests per minute on POST /api/v1/events and /api/v1/identify (0 = unlimited): per
# server key; per device and per address for client keys, which every phone shares.
INGEST_RATE_LIMIT_PER_MINUTE = env_int("INGEST_RATE_LIMIT_PER_MINUTE", 1200)
INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE = env_int("INGEST_CLIENT_DEVICE_LIMIT_PER_MINUTE", 60)
INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE = env_int("INGEST_CLIENT_ADDRESS_LIMIT_PER_MINUTE", 1200)
# Short links: scans recorded per minute per address (0 = unlimited), and the window in
# which one visitor's repeated scans of one placement count once.
SHORT_LINK_RATE_LIMIT_PER_MINUTE = env_int("SHORT_LINK_RATE_LIMIT_PER_MINUTE", 60)
SHORT_LINK_REPEAT_WINDOW_SECONDS = env_int("SHORT_LINK_REPEAT_WINDOW_SECONDS", 300)
if SHORT_LINK_REPEAT_WINDOW_SECONDS < 1:
    raise ImproperlyConfigured("SHORT_LINK_REPEAT_WINDOW_SECONDS must be at least 1.")
# How long a web process trusts an ingest key it looked up (a revocation elsewhere takes
# effect within this time; 0 = look the key up on every request).
INGEST_KEY_CACHE_SECONDS = env_int("INGEST_KEY_CACHE_SECONDS", 10)
# How long a web process reuses a short link's placement, campaign and UTMs (an edit made
# on another web server applies within this time; 0 = look up on every redirect).
SHORT_LINK_CACHE_SECONDS = env_int("SHORT_LINK_CACHE_SECONDS", 10)

# Group commit (events.ingest.group_commit): single events and scans of concurrent requests
# in one web process share one INSERT and commit. WAIT_MS holds each group open that long
# after its first row: 2 ms gave 2.8-3.5 rows per commit against 2.3-2.5 with 0 (only what
# arrived during the previous commit) and ratios 0.39-0.45 against 0.23-0.26, in two pairs
# of bench/web.py runs (docs/scaling.md), for at most 2 ms more latency.
INGEST_GROUP_COMMIT = env_bool("INGEST_GROUP_COMMIT", True)
INGEST_GROUP_COMMIT_WAIT_MS = env_int("INGEST_GROUP_COMMIT_WAIT_MS", 2)
# A request that waited longer than this for a worker (nginx's X-Request-Start) is answered
# 503 before any work: its client has likely given up and will retry (wxanalytics.overload).
REQUEST_QUEUE_TIMEOUT_SECONDS = env_int("REQUEST_QUEUE_TIMEOUT_SECONDS", 10)

ROOT_URLCONF = "wxanalytics.urls"
WSGI_APPLICATION = "wxanalytics.wsgi.application"
ASGI_APPLICATION = "wxanalytics.asgi.application"

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
                "wxanalytics.context_processors.time_zone",
            ],
            # {% load people %} (person_name) and {% load stored_text %} (|localized) in any
            # template; wxanalytics is no app.
            "libraries": {
                "people": "wxanalytics.templatetags.people",
                "stored_text": "wxanalytics.templatetags.stored_text",
            },
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server, worker and beat write to one SQLite file: wait for the lock
    # instead of failing with "database is locked", and take it when a transaction starts.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
if IS_POSTGRES:
    # Django leaves psycopg's prepared statements off. Only the ingest write's server-bound
    # statements use them (events.ingest.write): prepared after 5 runs on a connection,
    # then never parsed or planned again. Behind PgBouncer in transaction mode, set
    # DB_PREPARED_STATEMENTS=0.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if env_bool("DB_PREPARED_STATEMENTS", True) else None
    )

# A streaming replica of the primary for the reports (wxanalytics.replica): snapshot builds,
# the dashboard and the admin lists of the big tables read from it; everything else, and
# every write, stays on the primary. Same options as the primary's connection.
if env_str("REPORTS_DATABASE_URL"):
    DATABASES["reports"] = {
        **dj_database_url.parse(
            env_str("REPORTS_DATABASE_URL"),
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        ),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},  # a test run has one database
    }
DATABASE_ROUTERS = ["wxanalytics.replica.ReportsRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese first (docs/i18n.md): Simplified Chinese unless the browser asks for English or the
# person picked English in the header.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans").lower()
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(f"LANGUAGE_CODE={LANGUAGE_CODE!r} is not one of {[c for c, _n in LANGUAGES]}.")
# One catalogue per app (campaigns/locale, events/locale, reports/locale, found by APP_DIRS
# rules); this one holds templates/ and wxanalytics/.
LOCALE_PATHS = [BASE_DIR / "locale"]
# Django's date formats with the time zone after every time (wxanalytics/formats).
FORMAT_MODULE_PATH = ["wxanalytics.formats"]
# Report periods (days, ISO weeks from Monday, months) are cut in this zone.
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
try:
    REPORTING_TZ = ZoneInfo(TIME_ZONE)
except ZoneInfoNotFoundError:
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a known IANA time zone.") from None
USE_I18N = True
USE_TZ = True

DEFAULT_CURRENCY = env_str("DEFAULT_CURRENCY", "CNY").upper()

# Report thresholds: the monthly scale/stop signal and contribution margin (docs/reports.md).
REPORTS_SCALE_ROAS = env_decimal("REPORTS_SCALE_ROAS", "3.0")
REPORTS_STOP_ROAS = env_decimal("REPORTS_STOP_ROAS", "1.0")
REPORTS_TARGET_COST_PER_ORDER = env_decimal("REPORTS_TARGET_COST_PER_ORDER", "150")
REPORTS_COST_OF_GOODS_RATIO = env_decimal("REPORTS_COST_OF_GOODS_RATIO", "0.6")
# Personal data (docs/privacy.md). The key of the keyed hashes (HMAC) kept for erased ids and
# used as pseudonyms; defaults to SECRET_KEY. Changing it orphans the hashes in erasure
# records and existing pseudonyms, so set it once and keep it when SECRET_KEY rotates.
PRIVACY_HASH_KEY = env_str("PRIVACY_HASH_KEY", "") or SECRET_KEY
# Raw events keep personal ids this many months (whole months of the reporting time zone),
# then their user_id/session_id become pseudonyms; 0 keeps them for ever.
PRIVACY_RETENTION_MONTHS = env_int("PRIVACY_RETENTION_MONTHS", 25)
if PRIVACY_RETENTION_MONTHS < 0:
    raise ImproperlyConfigured("PRIVACY_RETENTION_MONTHS must be 0 (keep) or a number of months.")
# A rate (CTR, api_error %, payment_retry %) is flagged only when its denominator (impressions,
# page views, checkouts) reaches this size: 1 retry in 4 checkouts is noise, not a signal.
REPORTS_MIN_RATE_SAMPLE = env_int("REPORTS_MIN_RATE_SAMPLE", 30)
# PostgreSQL work_mem of a snapshot build's session (reports.metrics.common.report_queries).
REPORTS_WORK_MEM = env_str("REPORTS_WORK_MEM", "16MB")
# A TrueType font with CJK glyphs for QR captions (Chinese campaign names); empty = first found.
QR_CAPTION_FONT = env_str("QR_CAPTION_FONT", "")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env_str("MEDIA_ROOT", str(BASE_DIR / "media"))},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "media"))

LOGIN_URL = "admin:login"

# Redis when configured (shared by all processes); local memory otherwise.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["wxanalytics.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "wxanalytics API",
    "DESCRIPTION": "Campaigns, placements and QR codes; event ingest; report snapshots.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with no broker the demo runs tasks in-process; tests and production set a broker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues by workload: heavy report builds and archives never wait behind ingest or mail.
CELERY_TASK_ROUTES = {
    "reports.tasks.build_snapshot_task": {"queue": "reports"},
    "reports.tasks.archive_month_task": {"queue": "reports"},
    "events.tasks.run_import_task": {"queue": "ingest"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The demo's broker (`make run`): Kombu's filesystem transport, messages as files in one
    # folder shared by the web server, worker and beat. No server to install; production keeps Redis.
    CELERY_BROKER_FOLDER = env_str("CELERY_BROKER_FOLDER", str(BASE_DIR / "var" / "celery-broker"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": CELERY_BROKER_FOLDER,
        "data_folder_out": CELERY_BROKER_FOLDER,
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "wxanalytics@localhost")

# Outbound WeChat API base; tests point it at a fake server on localhost.
WECHAT_API_BASE = env_str("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")
# A push's signed timestamp may differ from our clock by this much (either way); older
# signatures, e.g. copied from a log, are refused. WeChat retries within 15 seconds.
WECHAT_PUSH_MAX_AGE_SECONDS = env_int("WECHAT_PUSH_MAX_AGE_SECONDS", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Signed WeChat query values never reach a log (wxanalytics.logs).
    "filters": {"redact_signatures": {"()": "wxanalytics.logs.RedactSignatures"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_signatures"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's own request loggers: runserver writes every request line, query included;
    # django.request's records also reach Django's default (unfiltered) handlers.
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["redact_signatures"]},
    },
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe the health check over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
