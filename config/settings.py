"""Relance settings, read from the environment with working defaults.

With no configuration at all Relance runs on a SQLite file and the django-q2 ORM broker.
DATABASE_URL switches to PostgreSQL, REDIS_URL switches the task broker to Redis.
"""

from pathlib import Path

import dj_database_url
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
    "contacts",
    "segments",
    "campaigns",
    "scenarios",
    # Above scenarios: each may import any app listed before it, never the reverse.
    "signups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
# Reverse proxies in front of Relance that append to X-Forwarded-For (see config.client_ip).
RELANCE_PROXY_COUNT = env_int("RELANCE_PROXY_COUNT", 0)

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

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
