"""Django settings for Telederm.

Every setting an operator may change is read from the environment (see README, "Configuration").
The embedded default needs none of them: SQLite in WAL mode and files on disk under ``var/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TELEDERM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("TELEDERM_DEBUG", False)
# The embedded default generates nothing secret at import time: a development key is used only
# when TELEDERM_SECRET_KEY is unset, and `check --deploy` flags it for production.
SECRET_KEY = os.environ.get(
    "TELEDERM_SECRET_KEY", "telederm-development-key-not-for-production-use"
)
ALLOWED_HOSTS = env_list("TELEDERM_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("TELEDERM_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "telederm.core",
    "telederm.audit",
    "telederm.accounts",
    "telederm.patients",
    "telederm.cases",
    "telederm.photos",
    "telederm.triage",
    "telederm.review",
    "telederm.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "telederm.urls"
ASGI_APPLICATION = "telederm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default; PostgreSQL (or anything dj-database-url reads) by
# DATABASE_URL. WAL lets the web process read while the worker writes.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    # The embedded default keeps its database, photos and e-mails in one folder, made on first use.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'telederm.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: Norwegian bokmål first, English complete.
LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norwegian bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "telederm" / "locale"]
FORMAT_MODULE_PATH = ["telederm.formats"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

# Files: static files served by WhiteNoise; uploaded photos in a private storage that is never
# served directly (every photo goes through a view that checks the policy and logs the access).
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("TELEDERM_MEDIA_ROOT", VAR_DIR / "media"))
STORAGE_BACKEND = os.environ.get(
    "TELEDERM_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
STORAGE_OPTIONS: dict[str, object]
if STORAGE_BACKEND == "storages.backends.s3.S3Storage":
    STORAGE_OPTIONS = {
        "bucket_name": os.environ.get("TELEDERM_S3_BUCKET", "telederm"),
        "endpoint_url": os.environ.get("TELEDERM_S3_ENDPOINT_URL"),
        "default_acl": "private",
        "querystring_auth": True,
    }
else:
    STORAGE_OPTIONS = {"location": str(MEDIA_ROOT)}
STORAGES = {
    "default": {"BACKEND": STORAGE_BACKEND, "OPTIONS": STORAGE_OPTIONS},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Uploads: a phone photo is a few MB; refuse anything far beyond that before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
TELEDERM_PHOTO_MAX_BYTES = int(os.environ.get("TELEDERM_PHOTO_MAX_BYTES", 25 * 1024 * 1024))
TELEDERM_PHOTO_MAX_PIXELS = int(os.environ.get("TELEDERM_PHOTO_MAX_PIXELS", 50_000_000))
TELEDERM_PHOTO_LONG_EDGE = int(os.environ.get("TELEDERM_PHOTO_LONG_EDGE", 2560))
TELEDERM_PHOTOS_PER_CASE = int(os.environ.get("TELEDERM_PHOTOS_PER_CASE", 10))

# Task queue: django-tasks with its database backend; `telederm worker` runs the tasks.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

EMAIL_BACKEND = os.environ.get(
    "TELEDERM_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "outbox-mail"
DEFAULT_FROM_EMAIL = os.environ.get("TELEDERM_FROM_EMAIL", "Telederm <no-reply@telederm.example>")
TELEDERM_BASE_URL = os.environ.get("TELEDERM_BASE_URL", "http://127.0.0.1:8000")

# Clocks: how many working hours each priority gives the service to answer. FACTS.md marks the
# exact pathway targets unverified, so they are configuration, not constants.
TELEDERM_WORKDAY_START_HOUR = 8
TELEDERM_WORKDAY_END_HOUR = 16
TELEDERM_PRIORITY_WORKING_HOURS = {
    "urgent": int(os.environ.get("TELEDERM_HOURS_URGENT", 8)),
    "soon": int(os.environ.get("TELEDERM_HOURS_SOON", 24)),
    "routine": int(os.environ.get("TELEDERM_HOURS_ROUTINE", 80)),
}

# Security: cookies and headers suitable for health data. HTTPS-only settings are switched on by
# TELEDERM_HTTPS so that the embedded default still works on http://127.0.0.1.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("TELEDERM_SESSION_SECONDS", 8 * 3600))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TELEDERM_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Synthetic identifiers (Skatteetaten's test numbers, month + 80) are accepted only where this is
# on: in the demo and in tests, never against a real population register.
TELEDERM_ACCEPT_SYNTHETIC_IDS = env_bool("TELEDERM_ACCEPT_SYNTHETIC_IDS", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TELEDERM_LOG_LEVEL", "INFO")},
    "loggers": {"django_tasks": {"level": "WARNING"}, "django_tasks_db": {"level": "WARNING"}},
}
