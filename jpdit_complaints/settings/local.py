"""Settings for `make run` on a laptop: embedded services, debug pages on."""

from .base import *
from .base import env

DEBUG = env.bool("DEBUG", default=True)
STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
