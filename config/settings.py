"""Relance settings, read from the environment with working defaults.

With no configuration at all Relance runs on a SQLite file and the django-q2 ORM broker.
DATABASE_URL switches to PostgreSQL, REDIS_URL switches the task broker to Redis.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RELANCE_VAR_DIR", str(BASE_DIR / "var")))
# The default SQLite file, uploads and static files live here; created on first use.
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_str("SECRET_KEY", "relance-dev-only-secret-key-change-me-in-production")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "anymail",
    "django_altcha",
    "auditlog",
    "axes",
    "contacts",
    "segments",
    "campaigns",
    "scenarios",
    # Above scenarios: each may import any app listed before it, never the reverse.
    "signups",
    "staff",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp, with a policy of its own for the admin (see staff.csp).
    "staff.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records the request's user as the author of audit entries (django-auditlog).
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks each login against its failed attempts before Django's own backend runs.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
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

# Persistent connections: the django-q2 ORM broker polls constantly and is several times
# faster when it does not reconnect for every poll.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'relance.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "fr")
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Large CSV uploads are streamed to disk rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000

# Provider webhooks must present this as HTTP basic auth ("user:password"); see README.
ANYMAIL = {
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET", "relance:dev-webhook-secret"),
}
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Where the file-based e-mail backend writes (make run uses it for demo sends).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "sent-mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "relance@localhost")

# Relance's own settings.
RELANCE_PHONE_REGION = env_str("RELANCE_PHONE_REGION", "FR")
# Admin imports above this many rows go to a worker instead of the in-page preview.
RELANCE_IMPORT_PREVIEW_MAX_ROWS = env_int("RELANCE_IMPORT_PREVIEW_MAX_ROWS", 20000)
# Where contacts reach the public pages (tracking, unsubscribe): the links in every message.
RELANCE_PUBLIC_URL = env_str("RELANCE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The mailbox domain of the List-Unsubscribe mailto address (unsubscribe+TOKEN@domain).
RELANCE_UNSUBSCRIBE_MAILTO_DOMAIN = env_str("RELANCE_UNSUBSCRIBE_MAILTO_DOMAIN", "localhost")
# Delivery: a transient failure (a 4xx reply, a dropped connection) is retried with a backoff
# doubling from RELANCE_SEND_RETRY_SECONDS, up to RELANCE_SEND_MAX_ATTEMPTS attempts in all.
RELANCE_SEND_MAX_ATTEMPTS = env_int("RELANCE_SEND_MAX_ATTEMPTS", 5)
RELANCE_SEND_RETRY_SECONDS = env_int("RELANCE_SEND_RETRY_SECONDS", 60)
RELANCE_SEND_BATCH_SIZE = env_int("RELANCE_SEND_BATCH_SIZE", 500)
# Connections one delivery worker keeps open to each sender (PostgreSQL; SQLite sends inline).
RELANCE_SEND_CONNECTIONS = env_int("RELANCE_SEND_CONNECTIONS", 2)
# An open this soon after the message was sent is a machine's (security scanners prefetch).
RELANCE_MACHINE_OPEN_SECONDS = env_int("RELANCE_MACHINE_OPEN_SECONDS", 5)
# SMS (see campaigns.sms): the backend (console, file, locmem or http), the sender name or
# number, the folder of the file backend, and the http backend's provider: URL, bearer token,
# the field of its JSON answer holding the message id, and a timeout in seconds.
RELANCE_SMS_BACKEND = env_str("RELANCE_SMS_BACKEND", "campaigns.sms.backends.console.SmsBackend")
RELANCE_SMS_SENDER = env_str("RELANCE_SMS_SENDER", "Relance")
RELANCE_SMS_FILE_PATH = env_str("RELANCE_SMS_FILE_PATH", str(VAR_DIR / "sms"))
RELANCE_SMS_HTTP_URL = env_str("RELANCE_SMS_HTTP_URL", "")
RELANCE_SMS_HTTP_TOKEN = env_str("RELANCE_SMS_HTTP_TOKEN", "")
RELANCE_SMS_HTTP_ID_FIELD = env_str("RELANCE_SMS_HTTP_ID_FIELD", "id")
RELANCE_SMS_HTTP_TIMEOUT = env_int("RELANCE_SMS_HTTP_TIMEOUT", 10)
# Incoming SMS replies (STOP) must carry this secret (see campaigns.views.sms); empty: the
# endpoint refuses every call.
RELANCE_SMS_INBOUND_SECRET = env_str("RELANCE_SMS_INBOUND_SECRET", "")
# How long the preference-centre link of a message works, in days (unsubscribing never expires).
RELANCE_PREFERENCES_TOKEN_DAYS = env_int("RELANCE_PREFERENCES_TOKEN_DAYS", 60)
# Sign-up forms: attempts one address may make per window (seconds), and the proof-of-work
# CAPTCHA's difficulty (the largest number the browser may have to try).
RELANCE_SIGNUP_RATE_LIMIT = env_int("RELANCE_SIGNUP_RATE_LIMIT", 10)
RELANCE_SIGNUP_RATE_WINDOW = env_int("RELANCE_SIGNUP_RATE_WINDOW", 600)
RELANCE_SIGNUP_CAPTCHA_MAX_NUMBER = env_int("RELANCE_SIGNUP_CAPTCHA_MAX_NUMBER", 100000)
# The key that signs CAPTCHA challenges; empty: derived from SECRET_KEY.
ALTCHA_HMAC_KEY = env_str("ALTCHA_HMAC_KEY", "") or None
# How long the admin dashboard's numbers are reused before being computed again, in seconds.
RELANCE_DASHBOARD_CACHE_SECONDS = env_int("RELANCE_DASHBOARD_CACHE_SECONDS", 300)

# django-q2. `timeout` stays below `retry` so a task is never handed out twice while it runs;
# a finite `max_attempts` stops a failing task from retrying forever.
REDIS_URL = env_str("REDIS_URL", "")
Q_CLUSTER = {
    "name": "relance",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 3600),
    "retry": env_int("Q_TIMEOUT", 3600) + 300,
    "max_attempts": 3,
    "save_limit": 100,
    "catch_up": False,
    "ack_failures": True,
    "poll": 0.5,
    "label": "Tâches",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # The cache (the dashboard's numbers) is then shared by every web process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "relance-cache",
        }
    }
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's own "django" handler would print each line a second time through the root.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

# Security. The settings below hold in development too; those that need HTTPS apply with
# DEBUG off (see README, "Security in production").
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Message links carry their token in the address: never sent to other sites as a Referer.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a proxy that terminates HTTPS: the header it sets, e.g. "X-Forwarded-Proto" (only
# when the proxy always sets or overwrites it, or clients could claim HTTPS).
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER", "")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# Content-Security-Policy (django-csp). Public pages: everything from this site only; inline
# styles for the pages' own <style> and the ALTCHA widget's stylesheet, which also solves its
# challenge in a worker made from a blob. form-action concerns our own pages: the sign-up
# snippet other sites embed posts from their pages, under their policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The admin (see staff.csp): inline styles (Django's widgets, our pages), and images from any
# HTTPS address for campaign previews.
RELANCE_ADMIN_CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        **CONTENT_SECURITY_POLICY["DIRECTIVES"],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF, "data:", "https:"],
    },
}

# django-axes: after AXES_FAILURE_LIMIT failed logins for one user name from one address, that
# pair is locked out for AXES_COOLOFF_HOURS (`manage.py axes_reset` unlocks everybody). A
# successful login before the limit starts the count again.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(hours=env_int("AXES_COOLOFF_HOURS", 1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "staff.security.lockout_response"
# Behind N reverse proxies, the client's address is the N-th from the right in
# X-Forwarded-For; without proxies (0), the connection's address (see config.client_ip): for
# lockouts, the sign-up rate limit, consent records and machine-open detection.
RELANCE_PROXY_COUNT = env_int("RELANCE_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "staff.security.client_ip_address"
