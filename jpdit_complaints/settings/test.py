"""Settings for the test suite: fast hashing, mail kept in memory, eager nothing.

Tests that need PostgreSQL or Redis read DATABASE_URL / TEST_REDIS_URL from the
environment (`.ci/run` sets them); everything else runs on SQLite.
"""

import tempfile
from pathlib import Path

from .base import *
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
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
CELERY_BEAT_SCHEDULE = {}
AXES_ENABLED = True
SITE_URL = "http://testserver"
