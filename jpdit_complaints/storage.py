"""Where private files (documents, letters, raw emails) are kept: Django's "private" storage (settings.STORAGES).

Served only through permission-checked views (never a public URL).
"""

from django.core.files.storage import Storage, storages


def private_storage() -> Storage:
    return storages["private"]
