"""Settings for `make run` on a laptop: embedded services, debug pages on."""

from .base import *
from .base import env

DEBUG = env.bool("DEBUG", default=True)
STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
# A laptop may run a receiver of its own on 127.0.0.1 (production refuses such addresses).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=True)
