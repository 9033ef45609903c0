"""Django settings for Telederm.

Every setting an operator may change is read from the environment (see README, "Configuration").
The embedded default needs none of them: SQLite in WAL mode and files on disk under ``var/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from telederm.accounts.oidc_config import provider_origins, providers_from_env
from telederm.core.security import csp_sources

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
    "django.contrib.humanize",
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
    "telederm.interop",
    "telederm.privacy",
    "telederm.api",
    "telederm.demo",
    # After Telederm's apps, so that Telederm's templates override allauth's.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "allauth.usersessions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "telederm.core.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "telederm.api.middleware.BearerTokenMiddleware",
    "telederm.accounts.middleware.SignOutClearsBrowserDataMiddleware",
    "telederm.core.security.PrivateCacheMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "telederm.accounts.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Inside the others, so a 413 carries every header; nothing above reads the body.
    "telederm.core.security.RequestSizeLimitMiddleware",
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
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and os.environ.get("TELEDERM_DB_POOL", "1") == "1"
):
    # A pool per process (psycopg_pool) instead of a new connection per request (4–17 ms each,
    # docs/benchmarks.md); persistent connections are not safe under ASGI, a pool is.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("TELEDERM_DB_POOL_MIN", 2)),
        "max_size": int(os.environ.get("TELEDERM_DB_POOL_MAX", 10)),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Sign-in (django-allauth): e-mail and password for everyone, a code by e-mail for patients,
# two-factor authentication (TOTP, WebAuthn, recovery codes) for every role but patient, and
# OpenID Connect (HelseID, ID-porten) where configured. Accounts are created by operators, by
# HelseID/ID-porten sign-in, or by a case access grant; nobody signs up with an e-mail alone.
ACCOUNT_ADAPTER = "telederm.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "telederm.patients.oidc.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 10 * 60
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Telederm: "
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60
# Every sign-in step is rate limited per address and per account (allauth's defaults cover the
# rest: sign-up, password reset, e-mail confirmation).
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",  # nosec B105  # a rate limit, not a password
    "request_login_code": "20/m/ip,3/m/key",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",  # nosec B105  # a rate limit
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Telederm"
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("TELEDERM_WEBAUTHN_ALLOW_INSECURE_ORIGIN", True)
# A wrong second-factor code counts against allauth's "login_failed" limit above.
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = providers_from_env(os.environ)
USERSESSIONS_TRACK_ACTIVITY = True
# Case access beyond the everyday rules: grants to outside professionals last at most this many
# days; a break-glass opening lasts this many minutes.
TELEDERM_GRANT_MAX_DAYS = int(os.environ.get("TELEDERM_GRANT_MAX_DAYS", 30))
TELEDERM_BREAK_GLASS_MINUTES = int(os.environ.get("TELEDERM_BREAK_GLASS_MINUTES", 60))
# The access log as the patient and the privacy officer see it: how many entries a page shows,
# and how many distinct patients one person may read within an hour before it is flagged.
TELEDERM_OWN_LOG_LIMIT = int(os.environ.get("TELEDERM_OWN_LOG_LIMIT", 500))
TELEDERM_PRIVACY_REVIEW_LIMIT = int(os.environ.get("TELEDERM_PRIVACY_REVIEW_LIMIT", 1000))
TELEDERM_PRIVACY_MANY_PATIENTS = int(os.environ.get("TELEDERM_PRIVACY_MANY_PATIENTS", 20))
# Staff are signed out after this many idle minutes (patients follow SESSION_COOKIE_AGE).
TELEDERM_STAFF_IDLE_MINUTES = int(os.environ.get("TELEDERM_STAFF_IDLE_MINUTES", 30))

# Rate limits and sign-in codes need a cache that every process shares: a database table by
# default (made by a migration), Redis or memcached by TELEDERM_CACHE_URL-style settings later.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "telederm_cache",
    }
}

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
S3_STORAGE_BACKEND = "storages.backends.s3.S3Storage"
# Canned ACLs that keep an object to the bucket owner. "" sends none: for buckets with ACLs
# disabled ("bucket owner enforced", AWS's default since 2023), which refuse any other ACL.
_PRIVATE_S3_ACLS = {"private", "bucket-owner-full-control", ""}


def s3_storage_options(env: dict[str, str]) -> dict[str, object]:
    """S3Storage options from the TELEDERM_S3_* variables (docs/runbooks/object-storage.md).

    Objects are private and reached only with our credentials; the photo view streams them, no
    URL of the store is handed out (docs/adr/0016-object-storage-s3.md). The tests build the
    storage of their SeaweedFS server with this function, so they test these options.
    """
    from botocore.config import Config
    from django.core.exceptions import ImproperlyConfigured

    key_id = env.get("TELEDERM_S3_ACCESS_KEY_ID", "")
    secret = env.get("TELEDERM_S3_SECRET_ACCESS_KEY", "")
    if bool(key_id) != bool(secret):
        raise ImproperlyConfigured(
            "Set both TELEDERM_S3_ACCESS_KEY_ID and TELEDERM_S3_SECRET_ACCESS_KEY, or neither."
        )
    acl = env.get("TELEDERM_S3_ACL", "private")
    if acl not in _PRIVATE_S3_ACLS:
        raise ImproperlyConfigured(f"TELEDERM_S3_ACL must be one of {sorted(_PRIVATE_S3_ACLS)}.")
    # Path style (http://host/bucket/key) for MinIO and SeaweedFS; "virtual" for AWS.
    addressing = env.get("TELEDERM_S3_ADDRESSING_STYLE", "path")
    if addressing not in {"path", "virtual", "auto"}:
        raise ImproperlyConfigured("TELEDERM_S3_ADDRESSING_STYLE must be path, virtual or auto.")
    url_seconds = int(env.get("TELEDERM_S3_URL_SECONDS", 60))
    if not 0 < url_seconds <= 3600:
        raise ImproperlyConfigured("TELEDERM_S3_URL_SECONDS must be between 1 and 3600.")
    encryption: dict[str, str] = {}
    sse = env.get("TELEDERM_S3_SSE", "")
    if sse:
        if sse not in {"AES256", "aws:kms"}:
            raise ImproperlyConfigured("TELEDERM_S3_SSE must be AES256, aws:kms or empty.")
        encryption["ServerSideEncryption"] = sse
        if sse == "aws:kms" and env.get("TELEDERM_S3_SSE_KMS_KEY_ID"):
            encryption["SSEKMSKeyId"] = env["TELEDERM_S3_SSE_KMS_KEY_ID"]
    options: dict[str, object] = {
        "bucket_name": env.get("TELEDERM_S3_BUCKET", "telederm"),
        "endpoint_url": env.get("TELEDERM_S3_ENDPOINT_URL") or None,
        # Unset: boto3 takes AWS_REGION / AWS_DEFAULT_REGION, else us-east-1.
        "region_name": env.get("TELEDERM_S3_REGION") or None,
        "default_acl": acl or None,
        # Never a public URL: url() signs, for TELEDERM_S3_URL_SECONDS. The app does not hand
        # these out today; the short life bounds the harm if one is ever logged or leaked.
        "querystring_auth": True,
        "querystring_expire": url_seconds,
        "custom_domain": None,
        # Renditions have names fixed by the photo's uuid and processing is retried: a rerun
        # must replace what a crashed run wrote, not add "-abc123" copies beside it.
        "file_overwrite": True,
        "object_parameters": encryption,
        # Signature v4 everywhere (AWS requires it in newer regions; MinIO and SeaweedFS take
        # it). Short timeouts and three tries: a store that hangs must not hold every web worker
        # for minutes; /readyz then reports it and the photo view answers at once.
        "client_config": Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            connect_timeout=5,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 3},
        ),
    }
    if key_id:
        # Unset: the standard AWS chain (AWS_ACCESS_KEY_ID, a profile, the instance's role).
        options["access_key"] = key_id
        options["secret_key"] = secret
    return options


STORAGE_OPTIONS: dict[str, object]
if STORAGE_BACKEND == S3_STORAGE_BACKEND:
    STORAGE_OPTIONS = s3_storage_options(dict(os.environ))
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
# Photo quality checks (telederm/photos/processing.py): a photo that fails one is still kept, the
# sender is told what to fix and offered a retake, and triage sees the flag.
# Focus: variance of the Laplacian of the photo scaled to an 800-pixel long edge (half the screen
# rendition), in grey levels². Calibrated in docs/adr/0014: sharp 12 MP photos measure 175-205,
# the same blurred by 3 px 35-43, by 4 px 18-22, by 6 px 7-9.
TELEDERM_PHOTO_MIN_FOCUS = float(os.environ.get("TELEDERM_PHOTO_MIN_FOCUS", 30.0))
# Exposure: the share of pixels clipped to black or to white (within 2 grey levels), each alone.
TELEDERM_PHOTO_MAX_CLIPPED = float(os.environ.get("TELEDERM_PHOTO_MAX_CLIPPED", 0.08))
# Resolution: the shorter edge of the photo in pixels.
TELEDERM_PHOTO_MIN_SHORT_EDGE = int(os.environ.get("TELEDERM_PHOTO_MIN_SHORT_EDGE", 1000))

# Resumable uploads: tus 1.0.0 at /uploads/ (docs/adr/0013-resumable-uploads.md). Unfinished
# uploads live on local disk under TELEDERM_UPLOAD_DIR until they complete or expire; with several
# web nodes that folder must be shared (or the load balancer sticky on the upload URL).
TELEDERM_UPLOAD_DIR = Path(os.environ.get("TELEDERM_UPLOAD_DIR", VAR_DIR / "uploads"))
TELEDERM_UPLOAD_MAX_BYTES = int(
    os.environ.get("TELEDERM_UPLOAD_MAX_BYTES", TELEDERM_PHOTO_MAX_BYTES)
)
# Per person: how many unfinished uploads at once, and how many bytes they may hold in all.
TELEDERM_UPLOAD_MAX_ACTIVE = int(os.environ.get("TELEDERM_UPLOAD_MAX_ACTIVE", 20))
TELEDERM_UPLOAD_QUOTA_BYTES = int(
    os.environ.get("TELEDERM_UPLOAD_QUOTA_BYTES", 10 * TELEDERM_PHOTO_MAX_BYTES)
)
TELEDERM_UPLOAD_EXPIRY_HOURS = int(os.environ.get("TELEDERM_UPLOAD_EXPIRY_HOURS", 24))
# What the browser does before sending (Uppy's compressor): long edge in pixels and JPEG quality.
TELEDERM_UPLOAD_CLIENT_LONG_EDGE = int(os.environ.get("TELEDERM_UPLOAD_CLIENT_LONG_EDGE", 2560))
TELEDERM_UPLOAD_CLIENT_QUALITY = float(os.environ.get("TELEDERM_UPLOAD_CLIENT_QUALITY", 0.85))

# Task queue: django-tasks with its database backend; `telederm worker` runs the tasks.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

EMAIL_BACKEND = os.environ.get(
    "TELEDERM_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "outbox-mail"
DEFAULT_FROM_EMAIL = os.environ.get("TELEDERM_FROM_EMAIL", "Telederm <no-reply@telederm.example>")
TELEDERM_BASE_URL = os.environ.get("TELEDERM_BASE_URL", "http://127.0.0.1:8000")

# Clocks: how long the service has to answer each priority, counted in working hours (weekdays
# within opening hours, minus Norwegian public holidays) or around the clock. FACTS.md marks the
# exact pathway targets unverified, so they are configuration, not constants.
TELEDERM_WORKDAY_START_HOUR = int(os.environ.get("TELEDERM_WORKDAY_START_HOUR", 8))
TELEDERM_WORKDAY_END_HOUR = int(os.environ.get("TELEDERM_WORKDAY_END_HOUR", 16))
TELEDERM_PRIORITY_CLOCKS = {
    "urgent": {
        "hours": float(os.environ.get("TELEDERM_HOURS_URGENT", 8)),
        "counting": os.environ.get("TELEDERM_COUNTING_URGENT", "continuous"),
    },
    "soon": {
        "hours": float(os.environ.get("TELEDERM_HOURS_SOON", 24)),
        "counting": os.environ.get("TELEDERM_COUNTING_SOON", "working"),
    },
    "routine": {
        "hours": float(os.environ.get("TELEDERM_HOURS_ROUTINE", 80)),
        "counting": os.environ.get("TELEDERM_COUNTING_ROUTINE", "working"),
    },
}
# An escalated (emergency) case is due this many minutes after escalation, around the clock.
TELEDERM_EMERGENCY_DUE_MINUTES = int(os.environ.get("TELEDERM_EMERGENCY_DUE_MINUTES", 15))
# Referrals from health professionals: the legal right-to-assessment deadline, in working days.
TELEDERM_REFERRAL_ASSESSMENT_WORKING_DAYS = int(
    os.environ.get("TELEDERM_REFERRAL_ASSESSMENT_WORKING_DAYS", 10)
)
# Alarms (the `check_clocks` worker task, every TELEDERM_CLOCK_CHECK_SECONDS): a sent case nobody
# has claimed or taken after this many minutes, around the clock, alarms the duty nurse.
TELEDERM_UNOWNED_ALARM_MINUTES = int(os.environ.get("TELEDERM_UNOWNED_ALARM_MINUTES", 60))
TELEDERM_CLOCK_CHECK_SECONDS = int(os.environ.get("TELEDERM_CLOCK_CHECK_SECONDS", 60))
# Tasks `telederm worker` queues by itself every TELEDERM_CLOCK_CHECK_SECONDS (dotted paths): the
# clock check, fetching messages that came in, and delivering messages due (again).
TELEDERM_PERIODIC_TASKS = [
    "telederm.triage.tasks.check_clocks",
    "telederm.interop.tasks.fetch_messages",
    "telederm.interop.tasks.deliver_messages",
]

# A patient may still write on a closed case this many days after it closed (the clinic reads it).
TELEDERM_MESSAGES_AFTER_CLOSE_DAYS = int(os.environ.get("TELEDERM_MESSAGES_AFTER_CLOSE_DAYS", 30))

# SMS notifications (they only say there is news): a pluggable gateway. The default writes each
# message to a file under var/outbox-sms, like the e-mail default; see docs/runbooks.
TELEDERM_SMS_BACKEND = os.environ.get("TELEDERM_SMS_BACKEND", "telederm.core.sms.FileBackend")
TELEDERM_SMS_FILE_PATH = VAR_DIR / "outbox-sms"
TELEDERM_SMS_URL = os.environ.get("TELEDERM_SMS_URL", "")
TELEDERM_SMS_TOKEN = os.environ.get("TELEDERM_SMS_TOKEN", "")
TELEDERM_SMS_SENDER = os.environ.get("TELEDERM_SMS_SENDER", "Telederm")

# Security: cookies and headers suitable for health data. HTTPS-only settings are switched on by
# TELEDERM_HTTPS so that the embedded default still works on http://127.0.0.1.
# More headers (Permissions-Policy, Cross-Origin-Resource-Policy, Cache-Control for signed-in
# people) come from telederm.core.security; ADR 0008 explains the Content-Security-Policy.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("TELEDERM_SESSION_SECONDS", 8 * 3600))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TELEDERM_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("TELEDERM_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The HSTS preload list is the domain owner's commitment for every subdomain, not a default:
# TELEDERM_HSTS_PRELOAD=true opts in, so `check --deploy` need not nag about it (security.W021).
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# No request body above this is read at all (413); a photo may be TELEDERM_PHOTO_MAX_BYTES.
TELEDERM_MAX_REQUEST_BYTES = int(
    os.environ.get("TELEDERM_MAX_REQUEST_BYTES", TELEDERM_PHOTO_MAX_BYTES + 1024 * 1024)
)

# Content-Security-Policy (django-csp): scripts and styles only from our own files, nothing
# inline, no eval. Sign-in with OpenID Connect posts a form to us and is redirected to the
# identity provider; browsers check form-action on that redirect, so the providers' origins
# (authorisation and end-session endpoints) go in TELEDERM_CSP_FORM_ACTION_EXTRA, comma-separated,
# e.g. "https://helseid-sts.nhn.no,https://login.idporten.no". Settings may append to the list
# before the policy below is built.
# The OpenID providers' sign-in pages are reached by a redirect after our own form's POST, which
# Chromium checks against form-action: their origins are added from the OIDC configuration.
TELEDERM_CSP_FORM_ACTION_EXTRA = csp_sources(
    [*env_list("TELEDERM_CSP_FORM_ACTION_EXTRA", ""), *provider_origins(os.environ)]
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *TELEDERM_CSP_FORM_ACTION_EXTRA],
    }
}

# Synthetic identifiers (Skatteetaten's test numbers, month + 80) are accepted only where this is
# on: in the demo and in tests, never against a real population register.
TELEDERM_ACCEPT_SYNTHETIC_IDS = env_bool("TELEDERM_ACCEPT_SYNTHETIC_IDS", True)

# Every record goes through one handler whose filter removes person numbers and e-mail addresses
# (telederm.core.logging). Django's own loggers are sent there too instead of to Django's default
# handlers, which include mail_admins (full tracebacks and request data by e-mail).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "telederm.core.logging.RedactPersonalData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("TELEDERM_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        # libvips reports every resize at INFO; only its warnings matter to an operator.
        "pyvips": {"level": "WARNING"},
        # WeasyPrint and fontTools narrate each PDF (fonts, subsetting) at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Interoperability (ADRs 0023-0026): who we are in the national address register, and how
# messages travel. TELEDERM_MESSAGE_TRANSPORT is "file" (in/out folders shared with an existing
# communication server), "nhn" (Norsk Helsenett's message service REST API) or "none" (messages
# are composed and kept, never sent: the default for the embedded demo, which sends to "file").
TELEDERM_HER_ID = int(os.environ.get("TELEDERM_HER_ID", 8100001))
TELEDERM_ORGANISATION_NAME = os.environ.get("TELEDERM_ORGANISATION_NAME", "Telederm hudklinikk")
TELEDERM_ORGANISATION_NUMBER = os.environ.get("TELEDERM_ORGANISATION_NUMBER", "999100015")
TELEDERM_MESSAGE_TRANSPORT = os.environ.get("TELEDERM_MESSAGE_TRANSPORT", "file")
TELEDERM_MESSAGE_FILE_OUT = Path(
    os.environ.get("TELEDERM_MESSAGE_FILE_OUT", VAR_DIR / "messages" / "out")
)
TELEDERM_MESSAGE_FILE_IN = Path(
    os.environ.get("TELEDERM_MESSAGE_FILE_IN", VAR_DIR / "messages" / "in")
)
TELEDERM_NHN_URL = os.environ.get("TELEDERM_NHN_URL", "")
TELEDERM_NHN_SOURCE_SYSTEM = os.environ.get("TELEDERM_NHN_SOURCE_SYSTEM", "Telederm")
# HelseID: client id, token endpoint and the private key (JWK file) for private_key_jwt + DPoP.
TELEDERM_HELSEID_TOKEN_URL = os.environ.get("TELEDERM_HELSEID_TOKEN_URL", "")
TELEDERM_HELSEID_CLIENT_ID = os.environ.get("TELEDERM_HELSEID_CLIENT_ID", "")
TELEDERM_HELSEID_KEY_FILE = os.environ.get("TELEDERM_HELSEID_KEY_FILE", "")
TELEDERM_HELSEID_SCOPE = os.environ.get("TELEDERM_HELSEID_SCOPE", "nhn:msh/api")
# A message still "sending" after this long was interrupted (a worker died): it is reconciled.
TELEDERM_MESSAGE_LEASE_SECONDS = int(os.environ.get("TELEDERM_MESSAGE_LEASE_SECONDS", 300))
# Delivery retries: attempts and the first back-off; it doubles each time up to the cap.
TELEDERM_MESSAGE_MAX_ATTEMPTS = int(os.environ.get("TELEDERM_MESSAGE_MAX_ATTEMPTS", 8))
TELEDERM_MESSAGE_BACKOFF_SECONDS = int(os.environ.get("TELEDERM_MESSAGE_BACKOFF_SECONDS", 60))
TELEDERM_MESSAGE_BACKOFF_CAP_SECONDS = int(
    os.environ.get("TELEDERM_MESSAGE_BACKOFF_CAP_SECONDS", 6 * 3600)
)
