"""Serving a private file (attachment or letter) to someone already allowed to have it.

The permission check is the calling view's job; this is only the response, the
same for every private file: always a download (never shown inline, so a
document can never run as a page of this site), its type as we recorded it and
``nosniff``, so the browser does not second-guess that type.
"""

from __future__ import annotations

import logging

from django.http import FileResponse, Http404, HttpResponse

from cases.uploads import clean_file_name
from jpdit_complaints.storage import STORAGE_UNAVAILABLE

logger = logging.getLogger(__name__)


def private_file_response(field_file, *, filename: str, content_type: str) -> HttpResponse:
    """A download of ``field_file`` (a FileField value) named ``filename``; 404 if the file is gone, 503 if the
    store is down. The file is read from the store and streamed by Django (an object store's URL is never given)."""
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    except STORAGE_UNAVAILABLE as error:
        logger.warning("Private storage unavailable for a download (%s)", type(error).__name__)
        response = HttpResponse(
            "The file cannot be fetched just now. Please try again in a few minutes.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "60"
        return response
    # The name as the upload checks clean it (no folders, line breaks or right-to-left tricks),
    # whatever is stored: a row saved before those checks, or by an import, is made safe here too.
    filename = clean_file_name(filename)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
