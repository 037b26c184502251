"""Production: every secret from the environment, strict security settings.

Refuses to start without a real SECRET_KEY.
"""

from django.core.exceptions import ImproperlyConfigured

from jpdit_complaints import error_reporting

from .base import *
from .base import env

DEBUG = False

SECRET_KEY = env("SECRET_KEY")  # no default: a missing key stops start-up
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        "SECRET_KEY must be a real secret: at least 50 characters, random, and not a 'django-insecure' development key."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# Behind a TLS-terminating reverse proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Cookies only over HTTPS. SECURE_COOKIES=false is for a plain-HTTP stack on loopback only (the
# load and fault tests of tests/stack.py, whose HTTP clients rightly never send a Secure cookie over http).
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# Staff sign in with a password and a code from an authenticator app (accounts/two_factor.py).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=True)

# Email in: a mailbox is read only when its URL is set (imaps://...); no Maildir default in production.
INBOUND_MAILBOXES = {
    "complaints": env("INBOUND_COMPLAINTS_URL", default=""),
    "appeals": env("INBOUND_APPEALS_URL", default=""),
}

LOGGING["root"]["level"] = env("LOG_LEVEL", default="INFO")
# One JSON object per line unless asked otherwise (settings/base.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT

# Errors reported to Sentry only when SENTRY_DSN is set, scrubbed of personal data and tokens
# (jpdit_complaints/error_reporting.py).
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    error_reporting.init(SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", default="production"))
