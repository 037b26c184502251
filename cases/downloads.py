"""Serving a private file (attachment or letter) to someone already allowed to have it.

The permission check is the calling view's job; this is only the response, the
same for every private file: always a download (never shown inline, so a
document can never run as a page of this site), its type as we recorded it and
``nosniff``, so the browser does not second-guess that type.
"""

from __future__ import annotations

from django.http import FileResponse, Http404

from cases.uploads import clean_file_name


def private_file_response(field_file, *, filename: str, content_type: str) -> FileResponse:
    """A download of ``field_file`` (a FileField value) named ``filename``; 404 if the file is gone."""
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    # The name as the upload checks clean it (no folders, line breaks or right-to-left tricks),
    # whatever is stored: a row saved before those checks, or by an import, is made safe here too.
    filename = clean_file_name(filename)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
