"""Where private files (documents, letters, raw emails) are kept: Django's "private" storage (settings.STORAGES).

A folder on a laptop, an S3-compatible bucket in production (``STORAGE_BACKEND=s3``). Served only through
permission-checked views, streamed through Django: never a public or signed URL of the store.
"""

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import Storage, storages
from storages.backends.s3 import S3Storage

# What a store that is down, unreachable or failing raises: the disk (OSError), or the S3 client
# (a connection refused or timed out: BotoCoreError; the store answering with an error: ClientError).
# A missing file is FileNotFoundError, an OSError: callers that mean "missing" catch that first.
STORAGE_UNAVAILABLE: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)


def private_storage() -> Storage:
    return storages["private"]


class PrivateS3Storage(S3Storage):
    """django-storages' S3 backend that never makes a URL.

    A presigned URL would let whoever holds it download the file, with no permission check, until it
    expires; the views stream each file through Django instead (``cases/downloads.py``).
    """

    def url(self, name, parameters=None, expire=None, http_method=None):
        raise NotImplementedError("Private files have no URL: they are served by permission-checked views.")
