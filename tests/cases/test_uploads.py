"""Documents are judged by their content; valid ones are kept between posts of a form."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import time
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from cases import services, tasks, uploads
from cases.models import Complaint
from cases.uploads import Staging, clean_file_name, validate_upload
from jpdit_complaints.storage import private_storage

# --- Sample files (also used by the form tests) ----------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# A whole 1x1 PNG (up to its IEND chunk: a PNG that stops early is refused as incomplete).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\x0bIDATx\x9cc`\x00\x02\x00\x00\x05\x00\x01z^\xab?\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode"
)
EML = (
    b"Received: from mail.example.com by mx.jpditservices.com; Mon, 2 Nov 2026 09:14:00 +0000\r\n"
    b"From: Ada Lovelace <ada@example.com>\r\n"
    b"To: support@jpditservices.com\r\n"
    b"Subject: Firewall change broke our VPN\r\n"
    b"Date: Mon, 2 Nov 2026 09:13:55 +0000\r\n"
    b"\r\n"
    b"Hello, since your engineer's visit our VPN is down.\r\n"
)

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def office(kind: str = "docx", *, macro: bool = False) -> bytes:
    """A minimal Office Open XML package: [Content_Types].xml plus its main part."""
    part, main = ("word/document.xml", WORD_MAIN) if kind == "docx" else ("xl/workbook.xml", EXCEL_MAIN)
    if macro:
        main = WORD_MACRO_MAIN
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Override PartName="/{part}" ContentType="{main}"/></Types>',
        )
        archive.writestr(part, "<document/>")
        if macro:
            archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photos/holiday.txt", "not an office file")
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    # The browser's claimed type is deliberately wrong: it must never matter.
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def refusal(name: str, data: bytes) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_upload(upload(name, data))
    return " ".join(caught.value.messages)


# --- Accepted types -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("screen.png", PNG, "image/png"),
        ("photo.JPG", JPEG, "image/jpeg"),
        ("letter.docx", office("docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("costs.xlsx", office("xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("notes.txt", "Call on 2 Nov — £40 charged\n".encode(), "text/plain"),
        ("old-notes.txt", "Cost £40, café\n".encode("latin-1"), "text/plain"),
        ("their-email.eml", EML, "message/rfc822"),
    ],
)
def test_accepted_types_are_recognised_by_content(name, data, content_type):
    result = validate_upload(upload(name, data))

    assert result.content_type == content_type
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.original_name == name


def test_a_png_saved_with_a_jpeg_name_is_accepted_as_a_png():
    assert validate_upload(upload("photo.jpg", PNG)).content_type == "image/png"


def test_validated_file_is_rewound_for_saving():
    result = validate_upload(upload("report.pdf", PDF))

    assert result.file.read() == PDF


# --- Refusals, each naming the file -------------------------------------------------


def test_windows_program_renamed_pdf_is_refused_with_a_clear_message():
    assert refusal("report.pdf", EXE) == (
        "'report.pdf' is not a PDF: it looks like a Windows program. We accept PDF, PNG, JPEG, "
        "Word (.docx), Excel (.xlsx), text and email (.eml) files."
    )


def test_plain_zip_renamed_docx_is_refused():
    message = refusal("contract.docx", plain_zip())

    assert message.startswith("'contract.docx' is not a Word document: it looks like a zip archive.")


def test_macro_enabled_document_renamed_docx_is_refused():
    message = refusal("invoice.docx", office("docx", macro=True))

    assert "'invoice.docx'" in message
    assert "macros" in message


def test_word_document_named_pdf_is_refused_with_a_rename_hint():
    message = refusal("letter.pdf", office("docx"))

    assert message == (
        "'letter.pdf' is not a PDF: it looks like a Word document. "
        "Please rename it to end in .docx and attach it again."
    )


def test_program_with_its_own_extension_is_refused():
    message = refusal("setup.exe", EXE)

    assert message.startswith("'setup.exe' is a Windows program, which we cannot accept.")


def test_accepted_content_with_an_unknown_extension_is_refused():
    assert "Please rename it to end in .pdf" in refusal("scan.dat", PDF)
    assert "its name ends in no extension" in refusal("scan", PDF)


def test_binary_data_named_txt_is_refused():
    message = refusal("log.txt", b"abc\x00\x01\x02" * 50)

    assert message.startswith("'log.txt' is not a text file")


def test_text_without_email_headers_named_eml_is_refused():
    message = refusal("message.eml", b"Just some words, not an email.\n")

    assert message.startswith("'message.eml' is not an email message")


def test_empty_file_is_refused():
    assert refusal("blank.pdf", b"") == "'blank.pdf' is empty. Please check the file and attach it again."


def test_file_over_the_size_limit_is_refused(settings):
    settings.INTAKE_MAX_FILE_BYTES = 100

    data = PDF + b" " * (100 - len(PDF) + 1)

    message = refusal("big.pdf", data)

    assert message == "'big.pdf' is 101 bytes; each file can be at most 100 bytes."


def test_real_file_just_over_ten_megabytes_is_refused():
    message = refusal("scan.pdf", PDF + b"0" * (10 * 1024 * 1024))

    assert message.startswith("'scan.pdf' is 10.1 MB; each file can be at most 10 MB.")


@pytest.mark.parametrize(
    ("size", "round_up", "text"),
    [(1, False, "1 byte"), (2048, False, "2 KB"), (1536, False, "1.5 KB"), (10 * 1024 * 1024 + 1, True, "10.1 MB")],
)
def test_sizes_are_written_as_people_say_them(size, round_up, text):
    assert uploads.human_size(size, round_up=round_up) == text


def test_file_of_exactly_the_limit_is_accepted(settings):
    settings.INTAKE_MAX_FILE_BYTES = len(PDF)

    assert validate_upload(upload("report.pdf", PDF)).size == len(PDF)


# --- File names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\ada\\Documents\\report.pdf", "report.pdf"),
        ("../../etc/report.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("re\u200bport\u200d.pdf", "report.pdf"),
        ("  tabs\tand\nnewlines .pdf", "tabs and newlines .pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("", "unnamed file"),
    ],
)
def test_file_names_are_cleaned(raw, clean):
    assert clean_file_name(raw) == clean


def test_long_file_names_are_shortened_keeping_the_extension():
    name = clean_file_name("a" * 300 + ".pdf")

    assert len(name) == uploads.MAX_NAME_LENGTH
    assert name.endswith("a.pdf")


def test_right_to_left_trick_cannot_disguise_a_program():
    # Shown as "invoiceexe.pdf" by a naive page; really ends in .exe.
    message = refusal("invoice\u202efdp.exe", EXE)

    assert message.startswith("'invoicefdp.exe' is a Windows program")


# --- Staging between posts --------------------------------------------------------------


def stage(name: str = "report.pdf", data: bytes = PDF) -> Staging:
    staging = Staging()
    staging.add(validate_upload(upload(name, data)))
    return staging


def test_staged_files_come_back_from_the_signed_value():
    staging = stage()

    restored = Staging.from_signed(staging.signed())
    (kept,) = restored.uploads()

    assert kept.original_name == "report.pdf"
    assert kept.sha256 == hashlib.sha256(PDF).hexdigest()
    assert kept.file.read() == PDF
    restored.discard()


def test_forged_or_tampered_staging_value_is_ignored():
    signed = stage().signed()

    assert Staging.from_signed(signed[:-3] + "abc").files == []
    assert Staging.from_signed("not-a-token").files == []
    assert Staging.from_signed("").files == []


def test_discard_deletes_the_staged_files():
    staging = stage()
    path = staging.path(staging.files[0])

    staging.discard()

    assert not uploads.staging_storage().exists(path)


def test_removed_file_is_deleted_and_dropped():
    staging = stage()
    staged = staging.files[0]

    staging.remove([staged.key])

    assert staging.files == []
    assert not uploads.staging_storage().exists(staging.path(staged))


def test_purge_deletes_staging_older_than_a_day_and_keeps_recent(settings):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2)):
        old = stage("old.pdf")
    recent = stage("recent.pdf")
    storage = uploads.staging_storage()
    old_path = storage.path(old.path(old.files[0]))

    deleted = tasks.purge_stale_uploads()

    assert deleted == 1
    assert not os.path.exists(old_path)
    assert not os.path.exists(os.path.dirname(old_path))
    assert storage.exists(recent.path(recent.files[0]))
    recent.discard()


def test_purge_reads_the_staging_time_from_the_name_not_the_stores_clock():
    """A store whose clock runs a day ahead (or a travelled test clock) must not purge a fresh upload."""
    recent = stage("recent.pdf")
    storage = uploads.staging_storage()
    path = storage.path(recent.path(recent.files[0]))
    a_day_and_more_ago = time.time() - 25 * 3600
    os.utime(path, (a_day_and_more_ago, a_day_and_more_ago))

    assert tasks.purge_stale_uploads() == 0
    assert storage.exists(recent.path(recent.files[0]))
    recent.discard()


def test_purge_falls_back_to_the_stores_time_for_names_without_one():
    storage = uploads.staging_storage()
    # A name of an older release: 32 random hex digits, here reading as 1970.
    name = storage.save(f"{uploads.STAGING_DIR}/{'a' * 24}/{'0' * 8}{secrets.token_hex(12)}", ContentFile(b"old"))
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(storage.path(name), (two_days_ago, two_days_ago))

    assert tasks.purge_stale_uploads() == 1
    assert not storage.exists(name)


def test_staged_file_purged_meanwhile_is_reported_missing():
    staging = stage()
    restored = Staging.from_signed(staging.signed())
    staging.discard()

    gone = restored.missing()

    assert [g.original_name for g in gone] == ["report.pdf"]
    assert restored.files == []


# --- documents are written before the transaction that records them, and removed if it fails ----------


def stored_documents() -> list[str]:
    storage = private_storage()
    if not storage.exists("complaints"):
        return []
    folders, _ = storage.listdir("complaints")
    return [f"{folder}/{name}" for folder in folders for name in storage.listdir(f"complaints/{folder}")[1]]


def complaint_details():
    return services.ComplaintDetails(name="Ada Lovelace", email="ada@example.com", description="Late twice.")


@pytest.mark.django_db(transaction=True)
def test_a_filing_whose_transaction_fails_leaves_no_document_behind(monkeypatch):
    before = stored_documents()
    upload = validate_upload(SimpleUploadedFile("report.pdf", PDF, "application/pdf"))

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away after the documents were recorded")

    monkeypatch.setattr(services, "_queue_acknowledgement", fail)
    with pytest.raises(RuntimeError, match="went away"):
        services.complaint_submit(details=complaint_details(), files=[upload])

    assert not Complaint.objects.exists()
    assert sorted(stored_documents()) == sorted(before)
    monkeypatch.undo()
    complaint = services.complaint_submit(details=complaint_details(), files=[upload])
    [attachment] = complaint.attachments.all()
    assert attachment.file.read() == PDF
    assert sorted(stored_documents()) == sorted([*before, attachment.file.name.removeprefix("complaints/")])


@pytest.mark.django_db
def test_a_filing_inside_another_transaction_is_refused_rather_than_risk_an_orphan_file():
    """Documents are kept once the filing commits: it must be the outermost transaction."""
    upload = validate_upload(SimpleUploadedFile("report.pdf", PDF, "application/pdf"))
    before = stored_documents()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.complaint_submit(details=complaint_details(), files=[upload])
    assert sorted(stored_documents()) == sorted(before)
