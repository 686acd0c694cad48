"""Waymark settings: one module, driven by the environment.

With no environment at all you get the embedded default: DEBUG on, an SQLite file under
``var/``, tasks run in-process, local-memory cache and e-mail printed to the console.
Set ``DATABASE_URL`` / ``REDIS_URL`` for PostgreSQL, Redis and a real Celery worker.
See README.md ("Configuration") for every variable.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import csp.constants
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)


def _development_secret_key() -> str:
    """A per-checkout random key, kept in the git-ignored var/ folder, for DEBUG only."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    "alignment",
    "goals",
    "checkins",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "okr_site.middleware.HtmxLoginRedirectMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers for a locked-out sign-in
]

ROOT_URLCONF = "okr_site.urls"
WSGI_APPLICATION = "okr_site.wsgi.application"

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

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'waymark.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets the dev server read while a seed or a task writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT compilation costs more than it saves on a web application's short queries
    # (seen: 14 ms of JIT in a 70 ms query on the L benchmark tier); and on SSDs or a
    # database held in memory, an index lookup costs little more than a sequential read
    # (the default of 4 made the cycle overview scan every key result: 48 ms, now 15).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", "-c jit=off -c random_page_cost=1.1"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "alignment.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "goals:home"
LOGOUT_REDIRECT_URL = "login"
# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair waits LOGIN_LOCKOUT_MINUTES. Keyed on the pair,
# an attacker elsewhere cannot lock a person out. The address is the connection's own;
# behind a proxy, the one the proxy appended to X-Forwarded-For (a client cannot forge
# it: anything it sent sits further left).
AUTHENTICATION_BACKENDS = [
    "alignment.signin.AddressCeilingBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
if env.bool("BEHIND_TLS_PROXY", default=False):
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    AXES_IPWARE_PROXY_ORDER = "right-most"

# Argon2 for new and changed passwords; older hashes still verify and are upgraded at the
# next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Length, not composition: at least 12 characters, not a known common password, not the
# person's own name or e-mail. Pass phrases of any characters are welcome.
COMMON_LONG_PASSWORDS = BASE_DIR / "okr_site" / "passwords" / "common-long-passwords.txt.gz"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # Django's list has few entries of 12 characters or more; this one holds the most
    # common 10,000 of them (okr_site/passwords/README.md).
    {
        "NAME": "django.contrib.auth.password_validation.CommonPasswordValidator",
        "OPTIONS": {"password_list_path": COMMON_LONG_PASSWORDS},
    },
]

# --- Single sign-on (OpenID Connect) ---------------------------------------------------
# Off unless a client and a provider are configured: the issuer (whose discovery document
# gives the endpoints) or the four endpoints themselves. mozilla-django-oidc runs the flow;
# okr_site/sso.py decides whom it signs in. docs/security.md explains each choice.
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="SSO")
OIDC_ONLY = env.bool("OIDC_ONLY", default=False)
OIDC_CREATE_USERS = env.bool("OIDC_CREATE_USERS", default=False)
OIDC_REQUIRE_EMAIL_VERIFIED = env.bool("OIDC_REQUIRE_EMAIL_VERIFIED", default=True)
_oidc_endpoints = [
    OIDC_OP_AUTHORIZATION_ENDPOINT,
    OIDC_OP_TOKEN_ENDPOINT,
    OIDC_OP_USER_ENDPOINT,
    OIDC_OP_JWKS_ENDPOINT,
]
OIDC_ENABLED = any([OIDC_OP_ISSUER, *_oidc_endpoints, OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT_SECRET])
if OIDC_ENABLED:
    _missing = [
        name
        for name, value in [
            ("OIDC_RP_CLIENT_ID", OIDC_RP_CLIENT_ID),
            ("OIDC_RP_CLIENT_SECRET", OIDC_RP_CLIENT_SECRET),
            (
                "OIDC_OP_ISSUER (or all four OIDC_OP_*_ENDPOINT)",
                OIDC_OP_ISSUER or all(_oidc_endpoints),
            ),
        ]
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(f"Single sign-on also needs {', '.join(_missing)}.")
    if not DEBUG and not all(
        url.startswith("https://") for url in [OIDC_OP_ISSUER, *_oidc_endpoints] if url
    ):
        raise ImproperlyConfigured("The OIDC_OP_* addresses must be https:// when DEBUG is off.")
    # Only signed ID tokens checked against the provider's published keys.
    if OIDC_RP_SIGN_ALGO not in {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}:
        raise ImproperlyConfigured("OIDC_RP_SIGN_ALGO must be one of RS256…512 or ES256…512.")
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "okr_site.sso.OIDCBackend"]
elif OIDC_ONLY or OIDC_CREATE_USERS:
    raise ImproperlyConfigured("OIDC_ONLY and OIDC_CREATE_USERS need single sign-on configured.")
if OIDC_ONLY:
    # Password sign-in for superusers only (a way in when the provider is down); other
    # sessions signed in with a password end.
    AUTHENTICATION_BACKENDS = [
        "okr_site.sso.SuperuserPasswordBackend"
        if backend == "django.contrib.auth.backends.ModelBackend"
        else backend
        for backend in AUTHENTICATION_BACKENDS
    ]
# A person the provider signed in but Waymark refused is not counted by django-axes.
AXES_WHITELIST_CALLABLE = "okr_site.sso.refused_after_provider_sign_in"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10  # seconds for each request to the provider

# --- Cache and background tasks ----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Misses instead of raising while Redis is down (okr_site/cache.py).
            "BACKEND": "okr_site.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="waymark"),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Embedded default: no broker, every task runs in-process when it is queued.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_TIMEZONE = env.str("TIME_ZONE", default="UTC")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    # Repairs any drift in stored progress, then keeps a point a day for charts.
    "recompute-progress": {
        "task": "alignment.tasks.recompute_progress",
        "schedule": crontab(hour=2, minute=0),
    },
    "snapshot-progress": {
        "task": "alignment.tasks.snapshot_progress",
        "schedule": crontab(hour=2, minute=30),
    },
    # Plans the reminders, escalations and digests whose team moment has come, then
    # sends what is pending or due for a retry. Per-team days and hours live on Team.
    "nudge-tick": {
        "task": "checkins.tasks.nudge_tick",
        "schedule": crontab(minute="*/5"),
    },
}
# A task taken by a worker that dies is handed out again after this many seconds; the
# nudge claims make the second run harmless.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60

# --- E-mail -----------------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587; console by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Waymark <waymark@localhost>")

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
if DEBUG:
    # WhiteNoise warns when the folder is missing; in development it serves from finders.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Django REST framework ------------------------------------------------------------------
REST_FRAMEWORK = {
    # The browser's session (with CSRF) and per-person API tokens (django-rest-knox: stored
    # hashed, several per person, revocable).
    # The token first: a revoked or unknown token answers 401 (the session, tried first,
    # would make it 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "okr_site.api.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "okr_site.api.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "okr_site.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "okr_site.api.exception_handler",
    # Token clients (scripts, BI tools) are throttled per person; the browser is not.
    "DEFAULT_THROTTLE_CLASSES": ["okr_site.api.TokenClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="1200/hour")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "TOKEN_TTL": None,  # a token lives until its person revokes it
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Waymark API",
    "DESCRIPTION": (
        "Objectives, key results, check-ins, initiatives and KPIs of a Waymark organisation. "
        "Authenticate with the browser session or a personal API token "
        "(`Authorization: Token <token>`, created under API tokens)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from drf-spectacular-sidecar: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security (production values come from the environment) --------------------------------
# With DEBUG off, everything is served over HTTPS only: plain HTTP is redirected, cookies
# are sent over HTTPS only and browsers are told (HSTS) to never try plain HTTP again.
# docs/security.md lists the environment for running behind a TLS-terminating proxy.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SAMESITE = "Lax"
if SESSION_COOKIE_SECURE:
    # The __Host- prefix: browsers keep such a cookie only as this host set it (over
    # HTTPS, for every path, no Domain), so a sibling sub-domain cannot plant one.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# Messages wait in the session, not in a cookie of their own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SECURE_SSL_REDIRECT = env.bool("SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # the orchestrator's probe, over plain HTTP inside
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Only the site's own scripts, styles and requests: no inline script or style, no eval
# (htmx is told so in base.html), no framing, forms posted only to the site itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.constants.SELF],
        "script-src": [csp.constants.SELF],
        # One style attribute of django-simple-history's admin pages ("border-top: 0"),
        # allowed by its hash: no other inline style.
        "style-src": [
            csp.constants.SELF,
            csp.constants.UNSAFE_HASHES,
            "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='",
        ],
        "img-src": [csp.constants.SELF, "data:"],
        "font-src": [csp.constants.SELF],
        "connect-src": [csp.constants.SELF],
        "object-src": [csp.constants.NONE],
        "base-uri": [csp.constants.NONE],
        "form-action": [csp.constants.SELF],
        "frame-ancestors": [csp.constants.NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own console handler would print every record a second time.
    "loggers": {"django": {"handlers": ["console"], "propagate": False}},
}

# --- Waymark domain settings ------------------------------------------------------------------
WAYMARK = {
    # A key result with no check-in for this many days is due for one, then stale.
    "DUE_AFTER_DAYS": 6,
    "STALE_AFTER_DAYS": 14,
    # The signed check-in link in a reminder works for this many days; the link to change
    # one's reminders (in every e-mail) for this many.
    "CHECKIN_LINK_DAYS": 7,
    "PREFERENCES_LINK_DAYS": 90,
    # Delivery: rows per batch, tries before giving up, how long a claim may last before
    # the row is given up as "may have been sent" (never sent twice), webhook timeout.
    "NUDGE_BATCH_SIZE": env.int("NUDGE_BATCH_SIZE", default=200),
    "NUDGE_MAX_ATTEMPTS": 6,
    "NUDGE_CLAIM_SECONDS": env.int("NUDGE_CLAIM_SECONDS", default=600),
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    # Chat webhooks may point at loopback and private addresses (a chat server inside the
    # organisation's network); off in production, so a lead cannot aim the worker at the
    # services beside it. On by default on a development machine, where stubs run.
    "WEBHOOK_PRIVATE_ADDRESSES": env.bool("WEBHOOK_PRIVATE_ADDRESSES", default=DEBUG),
    # Failed password sign-ins from one address, whatever the usernames, before every
    # password sign-in from it is refused for the lock-out window (alignment/signin.py).
    "SIGN_IN_FAILURES_PER_ADDRESS": env.int("SIGN_IN_FAILURES_PER_ADDRESS", default=50),
}
