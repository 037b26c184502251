"""Settings shared by every environment.

Everything that differs between a laptop and production is read from the
environment through the one ``env`` below (django-environ); a bad value fails
loudly at start-up. The defaults are the embedded ones used by ``make run``:
SQLite, a filesystem Celery broker and emails written to ``var/mail/``.
"""

from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

import environ
from botocore.config import Config as S3Config
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from jpdit_complaints.log_format import JSON_FORMATTER

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def _under_base(path: str) -> Path:
    """Resolve a relative path from the environment against the project folder."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else BASE_DIR / candidate


# --- Core -------------------------------------------------------------------

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only-never-use-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address of the site, used to build links in emails and letters.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The admin site itself, with the staff sign-in and two-factor rules (jpdit_complaints/admin_site.py).
    "jpdit_complaints.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # One-time recovery codes for a lost authenticator (accounts/two_factor.py).
    "django_otp.plugins.otp_static",
    # Django REST framework and its OpenAPI schema (drf-spectacular), for the read-only API (api/).
    "rest_framework",
    "drf_spectacular",
    # The project's apps, lowest layer first (docs/architecture.md): each imports only apps listed before it.
    "notifications",
    "audit",
    "accounts",
    "cases",
    "satisfaction",
    "appeals",
    "inbound",
    "procedure",
    "reports",
    "api",
    "demo",
]

MIDDLEWARE = [
    # First: every log line of the request, and of the tasks it queues, carries its id (jpdit_complaints/request_id.py).
    "jpdit_complaints.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session passed the second factor? django-otp's OTPMiddleware's
    # work, from what accounts.backends read with the user (no query of its own; accounts/middleware.py).
    "accounts.middleware.SecondFactorMiddleware",
    # One audit entry per staff request about a case, after the response (audit/middleware.py).
    "audit.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it records failed sign-ins seen by the views above.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jpdit_complaints.urls"
WSGI_APPLICATION = "jpdit_complaints.wsgi.application"

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
                "cases.context_processors.company",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one SQLite file: take the write
    # lock at BEGIN (no upgrade deadlocks), wait for it, and let readers run in WAL.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # Off by default: the check is one more query on every request. Without it a
    # connection that died (a database restart) fails one request, and Django then
    # drops it because an error occurred on it; the next request reconnects.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis down must not take the site down: nothing in the cache is the only copy (jpdit_complaints/cache.py),
    # and a hung Redis costs one request a quarter of a second, then is left alone a few seconds.
    CACHES["default"]["BACKEND"] = "jpdit_complaints.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 0.25, "socket_timeout": 0.25})

# --- Authentication ---------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out address is refused before the password check.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the user, their permissions and second-factor devices in one query (accounts/backends.py).
    "accounts.backends.PermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first (Django's recommended hasher): memory-hard against a stolen database, and on the 2-core
# machine a sign-in costs less CPU than PBKDF2's (bench/RESULTS.md, "Sign-ins"). PBKDF2 stays second so the
# passwords stored before still verify; Django rehashes each with Argon2id at its owner's next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:home"
LOGOUT_REDIRECT_URL = "staff:login"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "staff/locked_out.html"
# Lockouts count the same client address as the rate limits and the audit trail (without this axes
# reads REMOTE_ADDR, which behind the proxy is the proxy itself).
AXES_CLIENT_IP_CALLABLE = "jpdit_complaints.network.client_ip"

# Sessions are read from the cache (Redis in production) and written through to the
# database, which stays the record: a staff page then loads its session for about a
# quarter of the CPU of a database query (0.2 ms against 0.7-1.0 ms, measured in-process
# on the dashboard); a cache flushed or evicted only sends the next read to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation: the company works in London time ----------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = _under_base(env("STATIC_ROOT", default="staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Attachments, letters and raw emails are private: never under STATIC or a public media URL.
# They are read through the "private" storage and served only by views that check permission
# first (cases/downloads.py streams them through Django). STORAGE_BACKEND chooses where they live:
# "filesystem" (the default: a folder, PRIVATE_MEDIA_ROOT, shared by web and worker) or "s3", an
# S3-compatible bucket (django-storages), so web and worker processes may run on separate machines.
PRIVATE_MEDIA_ROOT = _under_base(env("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="filesystem")
if STORAGE_BACKEND == "filesystem":
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    }
elif STORAGE_BACKEND == "s3":
    _private_storage = {
        # django-storages' S3Storage that never makes a URL (jpdit_complaints/storage.py).
        "BACKEND": "jpdit_complaints.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME", default=""),
            # None: Amazon S3 itself; the address of another S3-compatible store (MinIO, Ceph...) otherwise.
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            # Unset: boto3 finds credentials itself (an instance role, ~/.aws); never written in a file here.
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            # Objects keep the bucket's own (private) permissions: no public-read ACL is ever set.
            "default_acl": None,
            # A second file under a name already used gets a new name, never overwrites the first.
            "file_overwrite": False,
            "client_config": S3Config(
                s3={"addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="auto")},
                signature_version="s3v4",
                # A store that is down or hangs answers a client within seconds ("try again"), not a minute.
                connect_timeout=env.int("AWS_S3_CONNECT_TIMEOUT", default=3),
                read_timeout=env.int("AWS_S3_READ_TIMEOUT", default=30),
                retries={"mode": "standard", "max_attempts": 3},
            ),
        },
    }
    if not _private_storage["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME, the bucket of private files")
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND={STORAGE_BACKEND!r} is not one of: filesystem, s3")
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT / "misc", "base_url": None},
    },
    "private": _private_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Five files of 10 MB plus the form itself.
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# --- Email ------------------------------------------------------------------

_email = env.email_url("EMAIL_URL", default="filemail:///var/mail")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# Emails kept on disk (the default) go to var/mail/, one .log file per batch.
EMAIL_FILE_PATH = str(_under_base(_email["EMAIL_FILE_PATH"] or "var/mail"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="JPD IT Services complaints <complaints@jpditservices.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Email in: the complaints@ and appeals@ mailboxes (inbound.readers) -----------------

# Where each mailbox is read by `manage.py read_mail`: imaps://user:password@host[:port]/FOLDER in
# production (settings/production.py: no default there, so a mailbox is read only when its URL is set),
# a Maildir on a laptop, where a developer drops .eml files into new/.
INBOUND_MAILBOXES = {
    "complaints": env("INBOUND_COMPLAINTS_URL", default=f"maildir://{VAR_DIR / 'inbound' / 'complaints'}"),
    "appeals": env("INBOUND_APPEALS_URL", default=f"maildir://{VAR_DIR / 'inbound' / 'appeals'}"),
}
# Where a message goes once stored, or when it cannot be kept (created by the reader if missing).
INBOUND_PROCESSED_FOLDER = env("INBOUND_PROCESSED_FOLDER", default="Processed")
INBOUND_QUARANTINE_FOLDER = env("INBOUND_QUARANTINE_FOLDER", default="Quarantine")
# One IDLE lasts this long before the folder is read again anyway (RFC 2177: under 29 minutes).
INBOUND_IDLE_SECONDS = env.int("INBOUND_IDLE_SECONDS", default=300)
# A server without IDLE is asked for new mail this often.
INBOUND_POLL_SECONDS = env.int("INBOUND_POLL_SECONDS", default=30)
# Messages fetched and stored per IMAP round, and the most bytes fetched at once (memory stays flat).
INBOUND_BATCH_SIZE = env.int("INBOUND_BATCH_SIZE", default=100)
INBOUND_BATCH_BYTES = env.int("INBOUND_BATCH_BYTES", default=20 * 1024 * 1024)
# After a failure (server, network, database) the reader waits base, 2 x base, 4 x base ... seconds, capped.
INBOUND_RETRY_BASE_SECONDS = env.int("INBOUND_RETRY_BASE_SECONDS", default=1)
INBOUND_RETRY_CAP_SECONDS = env.int("INBOUND_RETRY_CAP_SECONDS", default=60)
# An IMAP server that does not answer a command within this long is given up and reconnected to.
INBOUND_TIMEOUT_SECONDS = env.int("INBOUND_TIMEOUT_SECONDS", default=60)
# The sweep of stored messages leaves one stored this recently to its own task; an appeals@ copy of a
# message sent to complaints@ too waits this long for that copy (inbound.services).
INBOUND_SWEEP_GRACE_SECONDS = env.int("INBOUND_SWEEP_GRACE_SECONDS", default=120)
# A mail provider that posts inbound mail (django-anymail's /anymail/<provider>/inbound/): the webhook's
# basic-auth "user:password". Unset, the webhook addresses do not exist (jpdit_complaints/urls.py).
ANYMAIL = {"WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="")}

# --- Celery (cookiecutter-django style) -------------------------------------

# The default broker needs no server: kombu's filesystem transport under var/.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # A broker that is down or hangs must not hold up a client's request: the
    # work is already safe in the outbox, and the sweep will queue it again.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 1.0,
        "max_retries": 0,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_TASK_PUBLISH_RETRY = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
# A task is acknowledged only when done, and re-queued if its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up closes the database connections around every task unless this is set; with it, it closes
# them once every this many tasks, and jpdit_complaints/celery.py applies CONN_MAX_AGE and CONN_HEALTH_CHECKS at each
# task's start and end, as Django does for each request (issue 21: a new connection per acknowledgement cost
# PostgreSQL about 0.3 of the machine's two cores under load).
CELERY_DB_REUSE_MAX = 10_000
CELERY_TASK_ALWAYS_EAGER = False
# The outbox (notifications.services): a queued email's task gets this long before the sweep
# queues it again; a failed send is retried after base, 2 x base, 4 x base ... seconds, capped.
OUTBOX_SWEEP_GRACE_SECONDS = env.int("OUTBOX_SWEEP_GRACE_SECONDS", default=120)
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=60)
OUTBOX_RETRY_CAP_SECONDS = env.int("OUTBOX_RETRY_CAP_SECONDS", default=60 * 60)
# A worker's claim on a message while it sends: longer than any send (EMAIL_TIMEOUT, a PDF attached).
OUTBOX_SENDING_TIMEOUT_SECONDS = env.int("OUTBOX_SENDING_TIMEOUT_SECONDS", default=120)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Safety net for the outbox: anything not sent (broker down when it was
    # queued, SMTP refused it, a worker died) is queued again.
    "send-pending-messages": {
        "task": "notifications.tasks.send_pending_messages",
        "schedule": float(env.int("OUTBOX_SWEEP_SECONDS", default=60)),
    },
    "purge-stale-upload-staging": {
        "task": "cases.tasks.purge_stale_uploads",
        "schedule": 60.0 * 60,
    },
    # The deadline sweep (procedure.sweep): escalations and closures on every run,
    # reminders on the first run at or after DEADLINE_DAILY_WORK_AT on a business day.
    # A plain interval, never a crontab: beat's crontab follows local time and has
    # known bugs at clock changes; the sweep reads London time itself.
    "deadline-sweep": {
        "task": "procedure.tasks.sweep_deadlines",
        "schedule": 60.0 * env.int("DEADLINE_SWEEP_MINUTES", default=15),
    },
    # Anonymise cases closed more than RETENTION_YEARS ago (procedure.retention); daily, a plain interval.
    "retention-sweep": {
        "task": "procedure.tasks.anonymise_expired_cases",
        "schedule": 60.0 * 60 * 24,
    },
    # The reports' summary of past months (reports.summary): builds the months changed since
    # they were kept; until then the reports count them live (slower, never wrong).
    # The safety net of email in (inbound.services.emails_process_stored): messages stored whose reading
    # was never queued (the broker was down) are read.
    "process-stored-emails": {
        "task": "inbound.tasks.process_stored_emails",
        "schedule": float(env.int("INBOUND_SWEEP_SECONDS", default=60)),
    },
    "report-summary": {
        "task": "reports.tasks.refresh_report_summary",
        "schedule": 60.0 * env.int("REPORT_SUMMARY_MINUTES", default=5),
    },
}

# --- Webhooks (notifications.webhooks, docs/webhooks.md) ----------------------------------
# Each attempt waits this long to connect and this long for the answer (the outbox claim, 120 s, is longer).
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=10.0)
# Off: an endpoint whose name resolves to a private, loopback, link-local or reserved address is refused
# (no webhook can be aimed at the firm's own network). On for the tests and a laptop (settings/test.py,
# settings/local.py), or for a receiver on the firm's own network, deliberately.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- The read-only API for other systems (api/, docs/api.md) -------------------------------
REST_FRAMEWORK = {
    # A token from the admin (api.models.ApiToken), acting as its named member of staff: no session, no
    # password; the permission checks the token's scope and the user's role on every call.
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    # JSON only: no browsable API (it would need a session and its own pages).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Calls per token (DRF's rate syntax: "600/hour", "20/minute"), counted in the cache.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="120/minute")
# The most rows one page of a list may have (?page_size=), and the default.
API_MAX_PAGE_SIZE = 100
API_PAGE_SIZE = 25
SPECTACULAR_SETTINGS = {
    "TITLE": "JPDIT complaints API",
    "DESCRIPTION": "Read-only access for the firm's other systems to complaints, their timelines and actions, and "
    "the report figures. A token from the administrator acts as its named member of staff and sees what they "
    "see on the staff pages. See docs/api.md.",
    "VERSION": "1.0.0",
    # The schema alone, as YAML (or ?format=json): no documentation page loading scripts from elsewhere.
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Each model's choices under one name (several fields share them).
    "ENUM_NAME_OVERRIDES": {
        "ComplaintStatusEnum": "cases.models.Complaint.Status",
        "ComplaintChannelEnum": "cases.models.Complaint.Channel",
        "OutcomeEnum": "cases.models.Complaint.Outcome",
        "EventKindEnum": "cases.models.ComplaintEvent.Kind",
        "ActionKindEnum": "cases.models.Action.Kind",
        "AppealStatusEnum": "appeals.models.Appeal.Status",
        "AppealChannelEnum": "appeals.models.Appeal.Channel",
        "AppealDecisionEnum": "appeals.models.Appeal.Decision",
    },
}

# --- The audit trail (audit/services.py) ---------------------------------------------
# Audit entries are committed before the response, without waiting for PostgreSQL's disk flush (the row is
# in the database at once, on disk within the WAL writer's delay). True: wait for the flush, as every other
# commit does (about 2 ms more on each page about a case).
AUDIT_SYNCHRONOUS_COMMIT = env.bool("AUDIT_SYNCHRONOUS_COMMIT", default=False)

# --- Operations ---------------------------------------------------------------
# /staff/readyz/ answers anonymous callers from a result this many seconds old at most, per process:
# each fresh answer probes the database, cache, broker, storage and mail relay.
READYZ_CACHE_SECONDS = env.int("READYZ_CACHE_SECONDS", default=5)

# --- Content-Security-Policy (django-csp) ----------------------------------------
# Everything from our own origin only, and nothing inline: no inline scripts or
# styles, no style="" attributes (pages use static/css/site.css). Images may be
# data: URIs (none are user-supplied). Nobody may frame a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Staff single sign-on: OpenID Connect (mozilla-django-oidc; accounts/oidc.py, accounts/identity.py) -----
# Off unless OIDC_ENABLED: staff then sign in with a password and the second factor below. On, the sign-in
# page offers "Sign in with <OIDC_PROVIDER_NAME>"; the provider's groups (OIDC_GROUPS_CLAIM) give the product's
# roles through OIDC_ROLE_MAP ("idp-group=role,...", role one of manager, lead, director), checked again at
# every sign-in. Accounts linked to the provider then sign in only through it; accounts never linked
# (administrators among them: the way in when the provider is down) keep their password and second factor.
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
# The provider's endpoints (its /.well-known/openid-configuration lists them); RS256 tokens are checked
# against the keys at OIDC_OP_JWKS_ENDPOINT, HS256 ones with the client secret.
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="") or None
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
# Signing out also ends the session at the provider when its end_session_endpoint is given here.
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_ROLE_MAP = env.dict("OIDC_ROLE_MAP", default={})
# The provider's own second factor is trusted. With OIDC_REQUIRE_MFA, its ID token must also say so: its
# "amr" claim (RFC 8176) must hold one of OIDC_MFA_METHODS, or the sign-in is refused.
OIDC_REQUIRE_MFA = env.bool("OIDC_REQUIRE_MFA", default=False)
OIDC_MFA_METHODS = env.list("OIDC_MFA_METHODS", default=["mfa"])
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
OIDC_AUTHENTICATION_CALLBACK_URL = "staff:sso_callback"
# The ID token is kept in the session only to end the provider's session at sign-out.
OIDC_STORE_ID_TOKEN = bool(OIDC_OP_LOGOUT_ENDPOINT)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.oidc.IdentityProviderBackend")
# The provider checks its own passwords: its sign-ins are not counted by django-axes (accounts/oidc.py).
AXES_WHITELIST_CALLABLE = "accounts.oidc.axes_leaves_alone"
if OIDC_ENABLED and OIDC_OP_LOGOUT_ENDPOINT:
    # Signing out is a form whose answer redirects to the provider's end-session page: browsers hold that
    # redirect to the form-action directive of the Content-Security-Policy.
    _logout = urlsplit(OIDC_OP_LOGOUT_ENDPOINT)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(f"{_logout.scheme}://{_logout.netloc}")

# --- Two-factor sign-in for staff (django-otp, TOTP) -------------------------------
# Production requires it (settings/production.py); on a laptop it is off unless asked for.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = "JPD IT Services complaints"
# The admin never shows a device's secret key or QR code (staff set up their own device on the
# two-factor page): an administrator, or a stolen admin session, cannot copy anyone's second factor.
# It also refuses those pages before looking the device up (no 500 for an unknown id).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- The complaints procedure ------------------------------------------------

# Close of business in London: anything received later counts from the next business day.
CLOSE_OF_BUSINESS = time.fromisoformat(env("CLOSE_OF_BUSINESS", default="17:30"))
# The deadline sweep's morning work (reminders) starts at this London time on business days.
DEADLINE_DAILY_WORK_AT = time.fromisoformat(env("DEADLINE_DAILY_WORK_AT", default="08:00"))
# Business days allowed for each promise of the published procedure.
COMPLAINT_ACKNOWLEDGEMENT_DAYS = 2
COMPLAINT_OUTCOME_DAYS = 10
APPEAL_ACKNOWLEDGEMENT_DAYS = 2
APPEAL_DECISION_DAYS = 15
# Business days after the outcome letter within which an appeal may be lodged.
APPEAL_WINDOW_DAYS = env.int("APPEAL_WINDOW_DAYS", default=20)
# Business days after a withdrawal within which a complaints lead may reopen it (a withdrawal made by mistake).
WITHDRAWAL_REOPEN_DAYS = 20
# Years after a case closes (or is withdrawn) before its personal data is anonymised.
RETENTION_YEARS = env.int("RETENTION_YEARS", default=6)
# How long a client's secure tracking link stays valid.
CLIENT_LINK_MAX_AGE_DAYS = env.int("CLIENT_LINK_MAX_AGE_DAYS", default=180)
# How long the link of a satisfaction survey (satisfaction.links) stays valid after the email is sent.
SATISFACTION_LINK_MAX_AGE_DAYS = env.int("SATISFACTION_LINK_MAX_AGE_DAYS", default=30)

# Public intake: attachments and flood control.
INTAKE_MAX_FILES = 5
INTAKE_MAX_FILE_BYTES = 10 * 1024 * 1024
INTAKE_RATE_LIMIT_ENABLED = env.bool("INTAKE_RATE_LIMIT_ENABLED", default=True)
# Complaints accepted from one address per hour before it is asked to wait.
INTAKE_RATE_LIMIT_PER_HOUR = env.int("INTAKE_RATE_LIMIT_PER_HOUR", default=5)
# Requests for a new link to a complaint (the public "Get a new link" page) per address per hour.
LINK_REQUEST_RATE_LIMIT_PER_HOUR = env.int("LINK_REQUEST_RATE_LIMIT_PER_HOUR", default=5)
# Reverse proxies in front that write X-Forwarded-For (docker-compose.yml: one, deploy/nginx.conf).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

COMPANY = {
    "name": "JPD IT Services Ltd",
    "short_name": "JPD IT Services",
    "complaints_email": "complaints@jpditservices.com",
    "appeals_email": "appeals@jpditservices.com",
    "phone": "01293 226165",
    "address_lines": [
        "JPD IT Services Ltd",
        "G02 Terriers House",
        "Amersham Road",
        "High Wycombe",
        "Bucks",
        "HP13 5AJ",
    ],
}

# --- Logging: never personal data; identifiers only --------------------------

# "plain" (a laptop's default) or "json": one JSON object per line (production's default), with the time,
# level, logger, message and the request id (jpdit_complaints/request_id.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": JSON_FORMATTER,
        # Django's own format for the development server's request log (``make run``).
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    # No log line ever holds a client link's token (jpdit_complaints/log_privacy.py); each carries the request id.
    "filters": {
        "mask_tokens": {"()": "jpdit_complaints.log_privacy.MaskTokens"},
        "request_id": {"()": "jpdit_complaints.request_id.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["mask_tokens", "request_id"],
        },
        # runserver's request log ("GET /track/<token>/ 200"), masked as gunicorn's access log is.
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["mask_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
