"""BZPEER settings: one module, read from the environment.

Required outside DEBUG: SECRET_KEY, DATABASE_URL, REDIS_URL. See .env.example.
"""

from __future__ import annotations

import math
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `make run` writes the URLs of the embedded Postgres/Redis here (see bzpeer/localrun.py).
_local_env = BASE_DIR / ".local" / "env"
if _local_env.exists():
    environ.Env.read_env(str(_local_env), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-deploy")
else:
    SECRET_KEY = env("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.orcid",
    "works",
    "profiles",
    "claims",
    "graph",
    "bzpeer.curation",
    "bzpeer.privacy",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "bzpeer.audit",
    "bzpeer.pagecache",
    "bzpeer.fallback",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Compresses HTML and JSON for clients that accept gzip (static files come compressed
    # from WhiteNoise). BREACH needs a secret in a compressed body next to input an attacker
    # controls: anonymous pages, the ones shared from the cache, carry no secret at all (no
    # CSRF token, nothing about the visitor: bzpeer/pagecache); on signed-in pages the CSRF
    # token is masked anew for every response, and Django adds random bytes to each gzip
    # header, so sizes do not line up across requests.
    "django.middleware.gzip.GZipMiddleware",
    # django-csp's, with the (fixed) header text built once rather than per response.
    "bzpeer.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A NUL byte would reach Postgres and fail the query: 400 before any view runs.
    "bzpeer.middleware.RejectNulBytesMiddleware",
    # Repeat cookieless GETs of cached public pages answered after one version check,
    # before the per-visitor middleware below (bzpeer/pagecache/front.py).
    "bzpeer.pagecache.front.FrontCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "bzpeer.middleware.UnconfiguredProviderMiddleware",
    # Who changed what: write requests run in a django-pghistory context (bzpeer/audit/).
    "bzpeer.audit.middleware.AuditMiddleware",
    # A hidden researcher record answers 410 Gone wherever a view reaches it.
    "profiles.middleware.RecordGoneMiddleware",
]

ROOT_URLCONF = "bzpeer.urls"

# Audit trail (bzpeer/audit/models.py): triggers are installed after each migrate rather than by
# migrations in the tracked apps; reads (GET) open no context.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PGHISTORY_ADMIN_MODEL = "pghistory.MiddlewareEvents"

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

WSGI_APPLICATION = "bzpeer.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Tests and `make run` may name their own test database.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")

# A call to Redis (cache, rate limits, publishing a task) gives up after this long, and
# after a failure Redis is skipped for REDIS_BREAKER_SECONDS (bzpeer/breaker.py): a hung
# Redis costs a request a fraction of a second, never the worker timeout.
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=0.25)
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5)

CACHES = {
    "default": {
        # django-redis behind a circuit breaker; while Redis fails, rate-limit counters
        # live in Postgres and everything else misses (bzpeer/cache.py).
        "BACKEND": "bzpeer.cache.ResilientRedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
            "FALLBACK_TABLE": "bzpeer_cache_fallback",
            "FALLBACK_KEY_PREFIXES": ["ratelimit:", "allauth:rl:"],
        },
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="bzpeer"),
    }
}

# Reverse proxies in front of gunicorn that append to X-Forwarded-For (nginx, a load
# balancer): 0 when gunicorn faces clients directly. Decides the client IP of rate limits
# (bzpeer/http.py) and whether X-Forwarded-Proto is believed (below).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Accounts (django-allauth): email + password, and ORCID --------------------------------
AUTHENTICATION_BACKENDS = [
    # Staff sign in to the admin with a username; everyone else signs in with an email.
    "bzpeer.accounts.ModelBackend",
    "bzpeer.accounts.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Nobody signs in, claims or invites before proving they read the address's mail
# (claims/services.py checks again: admin-made users have no verified address).
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[BZPEER] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "bzpeer.accounts.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # At most 10 failed sign-ins in 5 minutes per account from one IP (the key is the
    # email and the IP), and 30 per IP whatever the accounts; and 20 an hour per account
    # from every IP together, which a browser the owner signed in with before skips
    # (bzpeer/accounts.py explains the choice). Kept in Postgres while Redis is down
    # (bzpeer/cache.py).
    "login_failed": "30/5m/ip,10/5m/key",
    "login_failed_account": "20/1h/key",
}
# A social login never signs into an existing account because the emails match: an ORCID
# iD joins an account only when its owner connects it while signed in.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # starting an OAuth dance is a POST with CSRF
SOCIALACCOUNT_STORE_TOKENS = False  # the iD is all we keep; no API calls on a user's behalf

# ORCID: the sandbox (sandbox.orcid.org) for development, the production registry
# otherwise. Without a client id the provider is hidden (allauth lists only providers
# that have an app).
ORCID_SANDBOX = env.bool("ORCID_SANDBOX", default=DEBUG)
ORCID_CLIENT_ID = env("ORCID_CLIENT_ID", default="")
_orcid: dict = {
    "BASE_DOMAIN": "sandbox.orcid.org" if ORCID_SANDBOX else "orcid.org",
    "MEMBER_API": False,
}
if ORCID_CLIENT_ID:
    _orcid["APP"] = {"client_id": ORCID_CLIENT_ID, "secret": env("ORCID_CLIENT_SECRET")}
SOCIALACCOUNT_PROVIDERS = {"orcid": _orcid}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# Our wording for django-allauth's pages ("Log in", "Sign up", as in the nav).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from the npm registry (package.json) and are served from
# node_modules as they were installed; nothing third-party is copied into static/.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/cytoscape", BASE_DIR / "node_modules" / "cytoscape" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="BZPEER <noreply@localhost>")
# Error mail to ADMINS comes from this address.
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = env("EMAIL_SUBJECT_PREFIX", default="[BZPEER] ")
# The file backend (django.core.mail.backends.filebased.EmailBackend) writes here.
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / ".local" / "mail"))
# Links in mail sent outside a request (claim decisions, invitations). `make run` sets it
# from its PORT; a deployment sets its public address.
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}").rstrip("/")
# SMTP settings for the smtp backend (ignored by the console backend).
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_SSL_CERTFILE = env("EMAIL_SSL_CERTFILE", default=None)
EMAIL_SSL_KEYFILE = env("EMAIL_SSL_KEYFILE", default=None)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Safe production defaults; DEBUG (local) relaxes only what plain http needs. A plain-http
# deployment (no TLS anywhere) turns off the redirect, HSTS and the secure cookies by env.
# Database sessions read with a prepared statement (bzpeer/sessions.py).
SESSION_ENGINE = "bzpeer.sessions"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# X-Forwarded-Proto is believed only behind a trusted proxy: a client talking to
# gunicorn directly could otherwise claim https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files
# (htmx and cytoscape are served from there too); no inline code, no eval. Pages hold no
# inline <script>/<style>/style="" (JSON data blocks are data, not code). Sign-in with
# ORCID posts a form that redirects to ORCID, hence its hosts in form-action.
_ORCID_HOSTS = ["https://orcid.org", "https://sandbox.orcid.org"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *_ORCID_HOSTS],
    }
}

# --- Celery: a task is acknowledged only when done (a worker killed mid-task leaves it to
# be redelivered, not lost), a stuck task is stopped by the time limits, and messages are
# JSON only (never pickle from the broker).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="bzpeer")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Web processes publish with Redis's short timeout (the worker relaxes it: bzpeer/celery.py).
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
    # A task still unacknowledged this long after delivery lost its worker: Redis hands it
    # out again. Just above the time limit, so a task still running is never run twice.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 30,
}
# Publishing fails fast when the broker is down, so a request never hangs on .delay().
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}

# OpenAlex snapshot kept in sync by the operator (docs/openalex-snapshot.md); the beat task
# imports the partitions not imported yet, once a day. Empty: the task does nothing.
OPENALEX_SNAPSHOT_DIR = env("OPENALEX_SNAPSHOT_DIR", default="")
# The staff user in whose name OpenAlex's merged author ids are applied.
OPENALEX_CURATOR = env("OPENALEX_CURATOR", default="")

# A graph slice queued or building for longer than a task may run has lost its job (worker
# killed, message gone): the next request for it, or the periodic sweep, queues it again.
GRAPH_SLICE_STUCK_SECONDS = CELERY_TASK_TIME_LIMIT + 30
GRAPH_SLICE_SWEEP_SECONDS = env.int("GRAPH_SLICE_SWEEP_SECONDS", default=60)
# Privacy: how long data exports and request data live (the privacy page states them).
PRIVACY_EXPORT_LINK_DAYS = env.int("PRIVACY_EXPORT_LINK_DAYS", default=7)
PRIVACY_REJECTED_EVIDENCE_DAYS = env.int("PRIVACY_REJECTED_EVIDENCE_DAYS", default=90)
PRIVACY_REQUEST_DATA_DAYS = env.int("PRIVACY_REQUEST_DATA_DAYS", default=365)
CELERY_BEAT_SCHEDULE = {
    "privacy-retention": {
        "task": "bzpeer.privacy.tasks.apply_retention",
        "schedule": 24 * 60 * 60.0,
        "options": {"expires": 60 * 60.0},
    },
    "requeue-stuck-graph-slices": {
        "task": "graph.tasks.requeue_stuck_slices",
        "schedule": float(GRAPH_SLICE_SWEEP_SECONDS),
        # A sweep nobody ran in time is replaced by the next one, not piled up.
        "options": {"expires": float(GRAPH_SLICE_SWEEP_SECONDS)},
    },
    # The followers' weekly digest of new works, on Monday morning.
    "weekly-digest": {
        "task": "profiles.tasks.send_weekly_digests",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
    # New partitions of the OpenAlex snapshot (a no-op unless OPENALEX_SNAPSHOT_DIR is set).
    "import-openalex-snapshot": {
        "task": "bzpeer.curation.tasks.import_openalex_snapshot",
        "schedule": float(env.int("OPENALEX_IMPORT_EVERY_SECONDS", default=24 * 3600)),
    },
}
# A page polls while a slice is building; every poll asks for the slice again, so a poll
# after GRAPH_SLICE_STUCK_SECONDS requeues a lost build. Polling lasts until that requeued
# build has had a minute to finish, then the page offers "Check again".
GRAPH_SLICE_POLL_SECONDS = env.int("GRAPH_SLICE_POLL_SECONDS", default=2)
GRAPH_SLICE_MAX_POLLS = env.int(
    "GRAPH_SLICE_MAX_POLLS",
    default=math.ceil((GRAPH_SLICE_STUCK_SECONDS + 60) / GRAPH_SLICE_POLL_SECONDS),
)
# Tests only: a build waits on this Postgres advisory lock (shared) before it composes the
# slice, so a test holding the lock can catch a worker mid-build. Unset in every deployment.
GRAPH_SLICE_BUILD_GATE = env.int("GRAPH_SLICE_BUILD_GATE", default=None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Django's own loggers already print to the console; let them propagate to root only.
    "loggers": {"django": {"handlers": [], "propagate": True}},
}
