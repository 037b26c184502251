"""Settings for the test suite: fast hashing, mail kept in memory, eager nothing.

Tests that need PostgreSQL or Redis read DATABASE_URL / TEST_REDIS_URL from the
environment (`.ci/run` sets them); everything else runs on SQLite.
"""

import tempfile
import uuid
from pathlib import Path

from .base import *
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A test that runs a real worker process points it at a folder of files instead.
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
if env("TEST_EMAIL_FILE_PATH", default=""):
    EMAIL_FILE_PATH = env("TEST_EMAIL_FILE_PATH")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
# WhiteNoise wants the folder to exist; tests serve static files through the finders.
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="jpdit-test-static-"))
WHITENOISE_USE_FINDERS = True
# Each test run keeps its private files in its own temporary folder, never var/.
PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="jpdit-test-private-"))
STORAGES["private"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
}
STORAGES["default"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": PRIVATE_MEDIA_ROOT / "misc", "base_url": None},
}
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
# One queue per test run, so a real worker started by one run never takes
# another run's tasks from a shared Redis (the worker is given the same name).
CELERY_TASK_DEFAULT_QUEUE = env("TEST_CELERY_QUEUE", default=f"jpdit-test-{uuid.uuid4().hex[:12]}")
CELERY_BEAT_SCHEDULE = {}
# No mailbox is read unless a test gives one (never var/inbound).
INBOUND_MAILBOXES = {"complaints": "", "appeals": ""}
AXES_ENABLED = True
SITE_URL = "http://testserver"
# Every readiness answer fresh: a test's probes see the services as the test left them.
READYZ_CACHE_SECONDS = 0
# Webhooks go to the receiving servers the tests start on 127.0.0.1 (production refuses such addresses).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
