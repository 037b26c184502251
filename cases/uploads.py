"""Checking uploaded documents by their content, and keeping valid ones between posts.

Interface used by forms and services:

* ``ValidatedUpload``: a file that passed every check, with the facts recorded
  on its ``Attachment`` (original name, detected content type, size, SHA-256).
* ``validate_upload(uploaded_file) -> ValidatedUpload`` raises
  ``django.core.exceptions.ValidationError`` with a message naming the file.
* ``Staging``: valid files kept in private storage while the rest of a form is
  corrected, so a client never has to choose them again. The browser holds only
  a signed token (``Staging.signed()``); ``Staging.from_signed()`` reads it back.
* ``purge_stale_staging()``: deletes staged files older than ``STAGING_MAX_AGE``
  (run hourly by ``cases.tasks.purge_stale_uploads``).

A file's type is judged by its bytes, never by its name or the type the browser
claims. The extension must then agree with the content, so that staff opening
the document get what its name promises. A file of an accepted kind must also be
whole (a PDF ends with ``%%EOF``, a PNG with its IEND chunk), carry no second file
glued on (a zip archive after a PDF or an image; HTML before a PDF's header), and a
Word or Excel file must not unpack to more than ``MAX_UNPACKED_BYTES`` (a zip bomb).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO

import puremagic
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, storages
from django.utils import timezone

logger = logging.getLogger(__name__)

ACCEPTED_SUMMARY = "We accept PDF, PNG, JPEG, Word (.docx), Excel (.xlsx), text and email (.eml) files."
MAX_NAME_LENGTH = 120
HEAD_BYTES = 8192
# Above this share of control characters (besides tab, newline, form feed) a file is not text.
TEXT_CONTROL_RATIO = 0.01
STAGING_DIR = "staging"
STAGING_SALT = "cases.upload-staging.v1"
STAGING_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class Kind:
    """A document type we accept: what it is called and the names it may carry."""

    key: str
    label: str  # "is not <label>"
    content_type: str
    extensions: tuple[str, ...]


PDF = Kind("pdf", "a PDF", "application/pdf", (".pdf",))
PNG = Kind("png", "a PNG image", "image/png", (".png",))
JPEG = Kind("jpeg", "a JPEG image", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"))
DOCX = Kind(
    "docx",
    "a Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
XLSX = Kind(
    "xlsx", "an Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)
)
TXT = Kind("txt", "a text file", "text/plain", (".txt",))
EML = Kind("eml", "an email message", "message/rfc822", (".eml",))
KINDS = (PDF, PNG, JPEG, DOCX, XLSX, TXT, EML)
KIND_BY_EXTENSION = {ext: kind for kind in KINDS for ext in kind.extensions}
# Photos are often saved with the other image extension; every viewer sniffs
# images, so that mismatch is harmless and a client is not refused for it.
COMPATIBLE = {(PNG, JPEG), (JPEG, PNG)}

# Friendly names for common things people (or attackers) send that we refuse.
# Checked before puremagic, whose names are sometimes technical.
REFUSED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"#!", "a script"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-style Office document (.doc or .xls): please save it as .docx or .xlsx",
    ),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"{\\rtf", "a rich-text (RTF) document"),
)
MACRO_MARKERS = (b"macroEnabled", b"vbaProject", b"vbaData")
# A Word or Excel file whose parts would unpack to more than this is refused (a "zip bomb"
# would fill the disk or memory of whatever opens it); real documents stay far below.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 5_000
# A zip archive's end record: found near the end of a PDF or an image, it means a second file
# was glued on (a "GIFAR"-style polyglot that another program would open as an archive).
ZIP_END_RECORD = b"PK\x05\x06"
ZIP_END_SEARCH = 65_557  # the end record (22 bytes) plus the longest archive comment
PNG_END = b"IEND\xaeB`\x82"
PDF_END = b"%%EOF"


@dataclass
class ValidatedUpload:
    original_name: str
    content_type: str
    size: int
    sha256: str
    file: IO[bytes]


# --- The checks -----------------------------------------------------------------


def clean_file_name(name: str) -> str:
    """The client's file name made safe to show and store: no folders, no hidden characters.

    Control, format (right-to-left override, zero-width) and separator-like
    characters are removed, whitespace collapsed, leading dots dropped and the
    length limited while keeping the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"\s+", " ", name)  # tabs and newlines become spaces, not nothing
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
    name = re.sub(r" +", " ", name).strip().lstrip(". ")
    if len(name) > MAX_NAME_LENGTH:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: MAX_NAME_LENGTH - len(ext)].rstrip() + ext
    return name or "unnamed file"


def human_size(size: int, *, round_up: bool = False) -> str:
    """Bytes as people say them ("3.2 MB"); a size over a limit rounds up, so it never reads as the limit."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            tenths = size * 10 / scale
            tenths = math.ceil(tenths) if round_up else round(tenths)
            text = f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"
            return f"{text} {unit}"
    return f"{size} byte{'s' if size != 1 else ''}"


def validate_upload(uploaded) -> ValidatedUpload:
    """Check one uploaded file by its content; raise ValidationError naming it, or return its facts."""
    name = clean_file_name(getattr(uploaded, "name", ""))
    size = uploaded.size
    if not size:
        raise ValidationError(f"'{name}' is empty. Please check the file and attach it again.", code="empty")
    limit = settings.INTAKE_MAX_FILE_BYTES
    if size > limit:
        raise ValidationError(
            f"'{name}' is {human_size(size, round_up=True)}; each file can be at most {human_size(limit)}.",
            code="too_big",
        )
    uploaded.seek(0)
    head = uploaded.read(HEAD_BYTES)
    uploaded.seek(0)
    ext = os.path.splitext(name)[1].lower()
    claimed = KIND_BY_EXTENSION.get(ext)
    detected, looks_like = _detect(uploaded, head, claimed)
    if detected is None:
        if claimed is None:
            raise ValidationError(f"'{name}' is {looks_like}, which we cannot accept. {ACCEPTED_SUMMARY}", code="type")
        raise ValidationError(
            f"'{name}' is not {claimed.label}: it looks like {looks_like}. {ACCEPTED_SUMMARY}", code="type"
        )
    if claimed is None:
        shown = ext or "no extension"
        raise ValidationError(
            f"'{name}' is {detected.label} but its name ends in {shown}. "
            f"Please rename it to end in {detected.extensions[0]} and attach it again.",
            code="extension",
        )
    if claimed is not detected and (detected, claimed) not in COMPATIBLE:
        raise ValidationError(
            f"'{name}' is not {claimed.label}: it looks like {detected.label}. "
            f"Please rename it to end in {detected.extensions[0]} and attach it again.",
            code="extension",
        )
    problem = _integrity_problem(uploaded, detected)
    if problem:
        raise ValidationError(f"'{name}' {problem}", code="damaged")
    uploaded.seek(0)
    return ValidatedUpload(
        original_name=name,
        content_type=detected.content_type,
        size=size,
        sha256=_sha256(uploaded),
        file=uploaded,
    )


def _detect(uploaded, head: bytes, claimed: Kind | None) -> tuple[Kind | None, str]:
    """The accepted kind the bytes are, or None and what they look like instead."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG, ""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG, ""
    # Some generators put a few bytes before the header; readers allow 1 KB. Markup there is
    # a web page with a PDF inside (a polyglot a browser could run as HTML), not a PDF.
    start = head.find(b"%PDF-", 0, 1024)
    if start >= 0:
        if b"<" in head[:start]:
            return None, "a web page (HTML) with a PDF inside"
        return PDF, ""
    if head.startswith(b"PK\x03\x04"):
        return _detect_office(uploaded)
    for signature, description in REFUSED_SIGNATURES:
        if head.startswith(signature):
            return None, description
    if b"\x00" not in head:
        text = _as_text(uploaded)
        if text is not None:
            if _looks_like_email(text):
                return EML, ""
            if claimed is EML:
                return None, "plain text, not an email message (save the email from your mail program as .eml)"
            return TXT, ""
    return None, _describe(head)


def _detect_office(uploaded) -> tuple[Kind | None, str]:
    """A .docx or .xlsx is a zip with [Content_Types].xml and its word/ or xl/ parts, and no macros."""
    uploaded.seek(0)
    try:
        with zipfile.ZipFile(uploaded) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                return None, "a zip archive"
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                return None, "a damaged Office document"
            content_types = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, ValueError, NotImplementedError):
        return None, "a damaged zip archive"
    finally:
        uploaded.seek(0)
    if any(marker in content_types for marker in MACRO_MARKERS) or any(
        n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in names
    ):
        return None, "an Office document with macros, which can carry viruses: please save it without macros"
    if any(n.startswith("word/") for n in names) and b"wordprocessingml.document.main+xml" in content_types:
        return DOCX, ""
    if any(n.startswith("xl/") for n in names) and b"spreadsheetml.sheet.main+xml" in content_types:
        return XLSX, ""
    if any(n.startswith("ppt/") for n in names):
        return None, "a PowerPoint presentation: please save it as a PDF"
    return None, "an Office-style archive of a kind we do not accept"


def _integrity_problem(uploaded, kind: Kind) -> str:
    """Why a file of an accepted kind is still refused (incomplete, another file glued on, a zip bomb), or ""."""
    uploaded.seek(0, os.SEEK_END)
    size = uploaded.tell()
    uploaded.seek(max(0, size - ZIP_END_SEARCH))
    tail = uploaded.read()
    uploaded.seek(0)
    again = "Please save or download it again and attach the new copy."
    if kind is PDF and PDF_END not in tail[-1024:]:
        return f"is damaged or incomplete: it is not a whole PDF. {again}"
    if kind is PNG and PNG_END not in tail[-64:]:
        return f"is damaged or incomplete: it is not a whole PNG image. {again}"
    if kind in (PDF, PNG, JPEG) and ZIP_END_RECORD in tail:
        return (
            f"has another file (a zip archive) hidden inside it, which we cannot accept. "
            f"Please send {kind.label} on its own."
        )
    if kind in (DOCX, XLSX):
        try:
            with zipfile.ZipFile(uploaded) as archive:
                entries = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
            return f"is damaged. {again}"
        finally:
            uploaded.seek(0)
        unpacked = sum(entry.file_size for entry in entries)
        if len(entries) > MAX_ARCHIVE_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
            return (
                f"would unpack to {human_size(unpacked, round_up=True)}, far more than a real document "
                f"(at most {human_size(MAX_UNPACKED_BYTES)}), so we cannot accept it. "
                "Please save it as a PDF and attach that instead."
            )
    return ""


def _as_text(uploaded) -> str | None:
    """The file's text if it is UTF-8 or Latin-1 (Windows-1252) text without NUL bytes."""
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v\x1a")
    if text and controls / len(text) > TEXT_CONTROL_RATIO:
        return None
    return text


HEADER_LINE = re.compile(r"^[!-9;-~]+:[ \t]?.*$")  # RFC 5322: printable name, colon, value
CONTINUATION = re.compile(r"^[ \t]+\S")
KNOWN_HEADERS = {"from", "to", "date", "subject", "received", "message-id", "mime-version", "return-path", "cc"}


def _looks_like_email(text: str) -> bool:
    """Headers (at least two well-known ones, From among them or Received) then a blank line."""
    seen: set[str] = set()
    lines = text.lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith("From "):  # mbox separator line
        lines = lines[1:]
    for line in lines[:500]:
        if not line.strip():
            break
        if CONTINUATION.match(line):
            continue
        if not HEADER_LINE.match(line):
            return False
        seen.add(line.split(":", 1)[0].strip().lower())
    else:
        return False
    return len(seen & KNOWN_HEADERS) >= 2 and bool(seen & {"from", "received"})


def _describe(head: bytes) -> str:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    if matches and matches[0].name:
        label = matches[0].name.strip().rstrip(".")
        article = "an" if label[:1].lower() in "aeiou" else "a"
        return f"{article} {label} file"
    return "a file of a kind we do not recognise"


def _sha256(uploaded) -> str:
    digest = hashlib.sha256()
    uploaded.seek(0)
    for chunk in iter(lambda: uploaded.read(1024 * 1024), b""):
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


# --- Staging: valid files kept while the rest of the form is corrected ------------


def staging_storage():
    return storages["private"]


@dataclass(frozen=True)
class StagedFile:
    key: str  # the file's name in the staging folder
    original_name: str
    content_type: str
    size: int
    sha256: str


@dataclass
class Staging:
    """The files one form has kept so far, under ``staging/<token>/`` in private storage.

    The list travels in a signed hidden field, so a client cannot point it at
    another folder or change a file's recorded facts.
    """

    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    files: list[StagedFile] = field(default_factory=list)
    _open: list[File] = field(default_factory=list, repr=False)

    @property
    def folder(self) -> str:
        return f"{STAGING_DIR}/{self.token}"

    def path(self, staged: StagedFile) -> str:
        return f"{self.folder}/{staged.key}"

    def signed(self) -> str:
        if not self.files:
            return ""
        payload = {
            "t": self.token,
            "f": [[f.key, f.original_name, f.content_type, f.size, f.sha256] for f in self.files],
        }
        return signing.dumps(payload, salt=STAGING_SALT, compress=True)

    @classmethod
    def from_signed(cls, value: str | None) -> Staging:
        """The staging a hidden field names, or an empty one if it is missing, forged or too old."""
        if not value:
            return cls()
        try:
            payload = signing.loads(value, salt=STAGING_SALT, max_age=STAGING_MAX_AGE)
            token = payload["t"]
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
                raise ValueError(token)
            files = [StagedFile(str(k), str(n), str(c), int(s), str(h)) for k, n, c, s, h in payload["f"]]
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            return cls()
        return cls(token=token, files=[f for f in files if re.fullmatch(r"[0-9a-f]{32}", f.key)])

    def add(self, upload: ValidatedUpload) -> StagedFile:
        upload.file.seek(0)
        key = staging_key(timezone.now())
        staging_storage().save(f"{self.folder}/{key}", File(upload.file))
        upload.file.seek(0)
        staged = StagedFile(key, upload.original_name, upload.content_type, upload.size, upload.sha256)
        self.files.append(staged)
        return staged

    def remove(self, keys) -> None:
        keys = set(keys)
        storage = staging_storage()
        for staged in [f for f in self.files if f.key in keys]:
            storage.delete(self.path(staged))
            self.files.remove(staged)

    def missing(self) -> list[StagedFile]:
        """Files the token names that are gone (purged after a day): drop them, report them."""
        storage = staging_storage()
        gone = [f for f in self.files if not storage.exists(self.path(f))]
        for staged in gone:
            self.files.remove(staged)
        return gone

    def uploads(self) -> list[ValidatedUpload]:
        """The kept files opened for reading, ready for ``attachment_add``."""
        storage = staging_storage()
        result = []
        for staged in self.files:
            handle = storage.open(self.path(staged), "rb")
            self._open.append(handle)
            result.append(
                ValidatedUpload(
                    original_name=staged.original_name,
                    content_type=staged.content_type,
                    size=staged.size,
                    sha256=staged.sha256,
                    file=handle,
                )
            )
        return result

    def discard(self) -> None:
        """Close and delete every kept file (after they were attached to a case)."""
        for handle in self._open:
            handle.close()
        self._open.clear()
        self.remove([f.key for f in self.files])
        _remove_empty_folder(self.folder)


def staging_key(at: datetime) -> str:
    """A staged file's name: when it was staged (8 hex digits of Unix seconds) and 24 random hex digits.

    The purge reads the time from the name, on the product's clock, rather than the store's
    modification time: an object store's clock (or a test's travelled one) may differ from ours.
    """
    return f"{int(at.timestamp()):08x}{secrets.token_hex(12)}"


def staged_at(storage, path: str, key: str) -> datetime:
    """When a staged file was staged: from its name, or (for a name of older releases) from the store."""
    if re.fullmatch(r"[0-9a-f]{32}", key):
        moment = datetime.fromtimestamp(int(key[:8], 16), tz=UTC)
        # Names made before they carried the time are random: a "time" more than a year away is one of them
        # (a staged file lives a day at most).
        now = timezone.now()
        if now - timedelta(days=366) <= moment <= now + STAGING_MAX_AGE:
            return moment
    return storage.get_modified_time(path)


def _remove_empty_folder(folder: str) -> None:
    # Filesystem storage leaves empty folders behind; an object store has no folders (only names with "/").
    storage = staging_storage()
    if not isinstance(storage, FileSystemStorage):
        return
    with contextlib.suppress(OSError):
        os.rmdir(storage.path(folder))


def purge_stale_staging(max_age: timedelta = STAGING_MAX_AGE) -> int:
    """Delete staged files older than ``max_age`` (forms abandoned half-way); returns how many."""
    storage = staging_storage()
    cutoff = timezone.now() - max_age
    deleted = 0
    try:
        folders, _ = storage.listdir(STAGING_DIR)
    except FileNotFoundError:
        return 0
    for folder in folders:
        prefix = f"{STAGING_DIR}/{folder}"
        _, names = storage.listdir(prefix)
        for name in names:
            path = f"{prefix}/{name}"
            if staged_at(storage, path, name) < cutoff:
                storage.delete(path)
                deleted += 1
        _remove_empty_folder(prefix)
    if deleted:
        logger.info("Purged %d staged upload(s) older than %s", deleted, max_age)
    return deleted


__all__ = [
    "ACCEPTED_SUMMARY",
    "StagedFile",
    "Staging",
    "ValidatedUpload",
    "clean_file_name",
    "purge_stale_staging",
    "validate_upload",
]
