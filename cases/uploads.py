"""Checking uploaded documents by their content, and keeping valid ones between posts.

Interface used by forms and services:

* ``ValidatedUpload``: a file that passed every check, with the facts recorded
  on its ``Attachment`` (original name, detected content type, size, SHA-256).
* ``validate_upload(uploaded_file) -> ValidatedUpload`` raises
  ``django.core.exceptions.ValidationError`` with a message naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO


@dataclass
class ValidatedUpload:
    original_name: str
    content_type: str
    size: int
    sha256: str
    file: IO[bytes]
