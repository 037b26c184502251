"""Hostile input (issue 7, point 2): what an attacker types and uploads is shown as text, never run.

Text: every hostile string below is filed through the real forms (the public complaint form,
the client's reply and appeal forms, the staff note and outcome forms) and then looked for on
every page and message that shows it: the staff case page, the dashboard, the client's page,
the admin (the complaint and the Director's appeal page), the emails (text and HTML parts,
headers) and the PDF letters (their text, read back with ``pdftotext``, and their links).

Uploads: disguised programs, polyglots, oversized, truncated and zip-bomb files, and macro
documents are refused by the public form with a message naming the file, and nothing is
saved; private files are never reachable at a public address, and every download is an
attachment with ``nosniff`` and a safe file name.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import zipfile
import zlib
from email import message_from_bytes

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from appeals.models import Appeal
from cases import links, services, uploads
from cases.models import Attachment, Complaint
from notifications.models import OutboundMessage
from tests.appeals.helpers import deliver, responded
from tests.appeals.test_admin import decision_post
from tests.cases.test_outcome import hidden_value, in_days, posted
from tests.cases.test_uploads import EXE, JPEG, PDF, PNG, office
from tests.factories import AcknowledgedComplaintFactory, AttachmentFactory, UserFactory, director, lead, manager
from tests.services import missing

pytestmark = pytest.mark.django_db

# --- The hostile strings ---------------------------------------------------------------------

# Markup that would run or link if a page printed it raw. Each is one line (pages turn line
# breaks into <p>/<br>), and each must appear on the page exactly as ``escape()`` writes it.
MARKUP = [
    '<script>alert("pwned")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg/onload=alert(2)>',
    '<a href="https://evil.example/steal">click here</a>',
    "<iframe src=//evil.example></iframe>",
    "<style>body{display:none}</style>",
]
# Text that is harmless as text but must not become a link, a template or a trick.
TRICKS = [
    "[click me](javascript:alert(3)) javascript:alert(4)",
    "**bold** _italic_ <b>not bold</b> &amp; &lt;tag&gt;",
    "{{ settings.SECRET_KEY }} {% debug %} {{ complaint.email }}",
    "invoice\u202egnp.exe",  # right-to-left override: "invoiceexe.png" on screen
    "zero\u200dwidth\u200bjoiner\ufeff",
]
HOSTILE_TEXT = "\n".join(MARKUP + TRICKS)
HOSTILE_NAME = "Ada <script>alert(5)</script> Lovelace"
INJECTION_NAME = "Ada Lovelace\r\nBcc: victim@evil.example"
HOSTILE_ORGANISATION = "<img src=x onerror=alert(6)> Ltd"
# The raw forms that must never appear in a page (a browser would run or follow them).
DANGEROUS = [*MARKUP, "<script>alert(5)</script>", "<img src=x onerror=alert(6)>", 'href="javascript:']


def public_form(**overrides) -> dict:
    from tests.cases.test_public_form import form_data

    return form_data(**overrides)


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def assert_shown_as_text(html: str, *texts: str, where: str) -> None:
    """Every hostile line is on the page as escaped text, and no raw markup is."""
    for raw in DANGEROUS:
        assert raw not in html, f"{where}: raw {raw!r} in the page"
    for text in texts:
        for line in text.splitlines():
            assert escape(line) in html, f"{where}: {line!r} is not shown as text"
    assert settings.SECRET_KEY not in html, where


def file_hostile_complaint(client: Client, **overrides) -> Complaint:
    fields = {
        "name": HOSTILE_NAME,
        "organisation": HOSTILE_ORGANISATION,
        "description": HOSTILE_TEXT,
        "desired_outcome": TRICKS[2],
    }
    data = public_form(**{**fields, **overrides})
    response = client.post("/", data)
    assert response.status_code in (302, 303), body(response)[:2000]
    return Complaint.objects.get()


@pytest.fixture
def staff():
    return {"lead": lead(), "manager": manager(), "director": director()}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def emails_to(address: str):
    return [m for m in mail.outbox if address in m.to]


def assert_email_safe(message, *texts: str) -> None:
    """Headers never split; no Bcc; the HTML part escapes; the text part has the text as typed."""
    raw = message.message().as_bytes()
    parsed = message_from_bytes(raw)
    assert parsed.get_all("Bcc") is None
    assert "evil.example" not in " ".join(f"{k}: {v}" for k, v in parsed.items())
    assert "\r" not in message.subject
    assert "\n" not in message.subject
    assert parsed["To"] == ", ".join(message.to)
    html_parts = [content for content, kind in message.alternatives if kind == "text/html"]
    assert html_parts, "every email has an HTML part"
    for html in html_parts:
        for raw_markup in DANGEROUS:
            assert raw_markup not in html, f"raw {raw_markup!r} in the HTML part of {message.subject!r}"
        for text in texts:
            for line in text.splitlines():
                assert escape(line) in html, f"{line!r} not in the HTML part of {message.subject!r}"
    for text in texts:
        for line in text.splitlines():
            assert line in message.body, f"{line!r} not in the text part of {message.subject!r}"


# --- Text through the public form --------------------------------------------------------------


def test_hostile_text_from_the_public_form_is_shown_as_text_everywhere(client, staff):
    complaint = file_hostile_complaint(client)
    assert complaint.description == HOSTILE_TEXT.replace("\r\n", "\n")
    token = links.client_token(complaint)

    # The client: the confirmation and the case page.
    assert_shown_as_text(body(client.get(reverse("public:complaint_received", args=[token]))), where="confirmation")
    assert_shown_as_text(body(client.get(reverse("client:case", args=[token]))), HOSTILE_TEXT, where="client page")
    # Staff: the case page and the dashboard.
    lead_client = signed_in(staff["lead"])
    case_page = body(lead_client.get(reverse("staff:case", args=[complaint.reference])))
    assert_shown_as_text(case_page, HOSTILE_TEXT, HOSTILE_NAME, HOSTILE_ORGANISATION, TRICKS[2], where="case page")
    assert_shown_as_text(body(lead_client.get(reverse("staff:home"))), HOSTILE_NAME, where="dashboard")
    assert_shown_as_text(
        body(lead_client.get(reverse("staff:home"), {"q": "<script>alert(5)</script>"})), where="dashboard search"
    )
    # The admin's read-only complaint page.
    admin = signed_in(UserFactory(is_superuser=True))
    admin_page = body(admin.get(reverse("admin:cases_complaint_change", args=[complaint.pk])))
    assert_shown_as_text(admin_page, HOSTILE_NAME, where="admin complaint page")
    # The acknowledgement email.
    deliver(kind="complaint_acknowledgement")
    (acknowledgement,) = emails_to(complaint.email)
    assert_email_safe(acknowledgement)


def test_a_name_with_a_header_injection_never_splits_an_email_header(client):
    complaint = file_hostile_complaint(client, name=INJECTION_NAME)
    deliver(kind="complaint_acknowledgement")

    (acknowledgement,) = emails_to(complaint.email)
    assert_email_safe(acknowledgement)
    assert acknowledgement.to == [complaint.email]
    assert not acknowledgement.bcc
    assert not acknowledgement.cc
    assert "Bcc" not in acknowledgement.message().as_string().split("\n\n", 1)[0]


@pytest.mark.parametrize(
    "email",
    ["ada@example.com\r\nBcc: victim@evil.example", "ada@example.com, victim@evil.example", "ada@example.com\n"],
)
def test_an_email_address_with_a_second_address_or_a_newline_is_refused(client, email):
    response = client.post("/", public_form(email=email))

    if response.status_code in (302, 303):
        # A trailing newline is stripped like any trailing space: one clean address is kept.
        assert Complaint.objects.get().email == "ada@example.com"
    else:
        assert response.status_code == 400 or "error" in body(response)
        assert not Complaint.objects.exists()
        assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize("field", ["name", "description", "organisation", "desired_outcome"])
def test_a_nul_character_is_refused_with_a_message_and_nothing_saved(client, field):
    response = client.post("/", public_form(**{field: "Before\x00after"}))

    assert response.status_code not in (302, 303)
    assert "Null characters are not allowed" in body(response)
    assert not Complaint.objects.exists()


def test_ten_thousand_characters_are_kept_whole_and_longer_than_the_limit_is_refused(client, staff):
    long_text = ("<b>x</b> " * 1250)[:10_000]
    complaint = file_hostile_complaint(client, description=long_text)
    assert complaint.description == long_text
    page = body(signed_in(staff["lead"]).get(reverse("staff:case", args=[complaint.reference])))
    assert escape(long_text.strip()) in page
    assert "<b>x</b>" not in page

    Complaint.objects.all().delete()
    OutboundMessage.objects.all().delete()
    response = client.post("/", public_form(description="y" * 20_001))
    assert response.status_code not in (302, 303)
    assert "at most 20000 characters" in body(response).replace(",", "")
    assert not Complaint.objects.exists()


# --- Text through the client's reply and appeal forms, the staff note and outcome forms --------


def test_hostile_replies_notes_outcomes_and_appeals_are_text_on_every_page_email_and_letter(client, staff):
    complaint = file_hostile_complaint(client)
    token = links.client_token(complaint)
    worker = staff["manager"]
    deliver(kind="complaint_acknowledgement")  # sending the acknowledgement acknowledges the complaint
    complaint.refresh_from_db()
    complaint = services.complaint_assign(actor=staff["lead"], complaint=complaint, assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    staff_client = signed_in(worker)

    # The staff note form.
    note = "Note: " + MARKUP[1] + " " + TRICKS[2]
    response = staff_client.post(
        reverse("staff:case_note", args=[complaint.reference]),
        {"note-expected_revision": complaint.revision, "note-text": note},
    )
    assert response.status_code == 303
    complaint.refresh_from_db()

    # A question to the client, answered with hostile text through the reply form.
    question = "Which site? " + MARKUP[0]
    services.complaint_request_information(actor=worker, complaint=complaint, message=question)
    assert_shown_as_text(body(client.get(reverse("client:case", args=[token]))), question, where="client question")
    reply = "Reply " + MARKUP[3] + "\n" + TRICKS[0]
    assert client.post(reverse("client:reply", args=[token]), {"text": reply}).status_code == 303
    complaint.refresh_from_db()

    case_page = body(staff_client.get(reverse("staff:case", args=[complaint.reference])))
    assert_shown_as_text(case_page, note, reply, where="case page with note and reply")
    # (The client's page does not repeat their answer; it must still show nothing raw.)
    assert_shown_as_text(body(client.get(reverse("client:case", args=[token]))), where="client page")
    assert note not in body(client.get(reverse("client:case", args=[token])))  # staff notes are never shown

    # The outcome form: preview, then issue, with hostile findings and reasons.
    findings = "Findings " + MARKUP[0] + "\n" + MARKUP[3] + "\nhttps://evil.example/phish"
    reasons = "Reasons " + TRICKS[0] + "\n" + TRICKS[2]
    data = posted(complaint, outcome="not_upheld", findings=findings, reasons=reasons)
    shown = staff_client.post(reverse("staff:outcome_preview", args=[complaint.reference]), data)
    assert shown.status_code == 200
    assert_shown_as_text(body(shown), findings, reasons, where="outcome preview")
    data["previewed"] = hidden_value(shown, "previewed")
    issued = staff_client.post(reverse("staff:outcome_issue", args=[complaint.reference]), data)
    assert issued.status_code in (302, 303), body(issued)[:3000]
    complaint.refresh_from_db()
    assert complaint.findings == findings

    # The outcome email and its PDF letter.
    mail.outbox.clear()
    deliver(kind="outcome_letter")
    (outcome_email,) = emails_to(complaint.email)
    assert_email_safe(outcome_email)
    (_name, pdf_bytes, pdf_type) = outcome_email.attachments[0]
    assert pdf_type == "application/pdf"
    assert_pdf_shows_text(pdf_bytes, findings, reasons, HOSTILE_NAME)

    # The client appeals with hostile reasons, through the appeal form.
    appeal_reasons = "Appeal " + MARKUP[1] + "\n" + TRICKS[1]
    response = client.post(reverse("client:appeal", args=[token]), {"reasons": appeal_reasons})
    assert response.status_code in (302, 303), body(response)[:3000]
    appeal = Appeal.objects.get(complaint=complaint)
    assert_shown_as_text(body(client.get(reverse("client:case", args=[token]))), appeal_reasons, where="client appeal")

    # The Director's page in the admin shows all of it as text.
    director_page = body(signed_in(staff["director"]).get(reverse("admin:appeals_appeal_change", args=[appeal.pk])))
    assert_shown_as_text(
        director_page, HOSTILE_TEXT, findings, reasons, appeal_reasons, HOSTILE_NAME, where="admin appeal page"
    )
    # The Director's decision form, with hostile reasons, recommendations and an action.
    deliver(kind="appeal_acknowledgement")
    appeal.refresh_from_db()
    decision_reasons = "Decision " + MARKUP[2] + "\n" + TRICKS[2]
    recommendations = "Recommend " + MARKUP[4]
    step = "Step " + MARKUP[1]
    decided = signed_in(staff["director"]).post(
        reverse("admin:appeals_appeal_decide", args=[appeal.pk]),
        decision_post(
            appeal,
            reasons=decision_reasons,
            recommendations=recommendations,
            actions=[{"kind": "put_right", "description": step, "owner": worker.pk, "due_date": in_days(5)}],
        ),
    )
    assert decided.status_code == 302
    appeal.refresh_from_db()
    assert appeal.decision_reasons == decision_reasons.replace("\r\n", "\n")
    director_page = body(signed_in(staff["director"]).get(reverse("admin:appeals_appeal_change", args=[appeal.pk])))
    assert_shown_as_text(director_page, decision_reasons, recommendations, where="admin decided appeal page")
    mail.outbox.clear()
    deliver(kind="appeal_decision_letter")
    (decision_email,) = emails_to(complaint.email)
    (_name, decision_pdf, _type) = decision_email.attachments[0]
    assert_pdf_shows_text(decision_pdf, decision_reasons, recommendations, step)

    # Every email sent (the client's and staff's) keeps its headers whole.
    for kind in ("staff_new_appeal", "staff_client_reply", "information_request"):
        deliver(kind=kind)
    assert mail.outbox
    for message in mail.outbox:
        assert_email_safe(message)


def pdf_text(pdf: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    result = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def assert_pdf_shows_text(pdf: bytes, *texts: str) -> None:
    """Every hostile line is in the letter's text as typed, and none became a link."""
    text = " ".join(pdf_text(pdf).split())
    for block in texts:
        for line in block.splitlines():
            words = " ".join(line.replace("\u202e", "").replace("\u200d", "").replace("\u200b", "").split())
            # Lines wrap in the letter: compare with whitespace collapsed, and the first 40 characters.
            assert words[:40] in text, f"{line!r} is not in the letter as text"
    structure = pdf_structure(pdf)
    assert b"/JavaScript" not in structure
    assert b"/JS" not in structure
    links = re.findall(rb"/URI\s*\(([^)]*)\)", structure)
    assert not [uri for uri in links if b"evil" in uri or b"javascript" in uri.lower()], links


def pdf_structure(pdf: bytes) -> bytes:
    """The PDF's bytes with every compressed stream inflated (annotations may sit in object streams)."""
    parts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, flags=re.S):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(stream))
    return b"\n".join(parts)


def test_the_pdf_link_check_finds_a_real_link():
    """The check above can fail: a letter with a real link shows its /URI annotation."""
    from weasyprint import HTML

    pdf = HTML(string='<p><a href="https://evil.example/x">a real link</a></p>').write_pdf()
    assert b"https://evil.example/x" in b"".join(re.findall(rb"/URI\s*\(([^)]*)\)", pdf_structure(pdf)))


# --- Uploads -----------------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
HTML_THEN_PDF = b"<html><script>alert(document.cookie)</script>\n%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb_docx() -> bytes:
    """A real Word package plus a part that unpacks to 200 MB of zeros (a few hundred KB packed)."""
    buffer = io.BytesIO(office("docx"))
    chunk = b"\x00" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/media/filler.bin", "w", force_zip64=True) as part,
    ):
        for _ in range(200):
            part.write(chunk)
    return buffer.getvalue()


def docm() -> bytes:
    """A macro-enabled document's content type, without a vbaProject part."""
    return zip_bytes(
        {
            "[Content_Types].xml": b'<Types><Override PartName="/word/document.xml" '
            b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
            "word/document.xml": b"<document/>",
        }
    )


COMPLETE_PNG = PNG

BAD_UPLOADS = [
    pytest.param("statement.pdf", EXE, "a Windows program", id="windows-program-renamed-pdf"),
    pytest.param("statement.pdf", ELF, "a Linux program", id="linux-program-renamed-pdf"),
    pytest.param("photo.png", b"#!/bin/sh\nrm -rf /\n", "is not a PNG image", id="script-renamed-png"),
    pytest.param("statement.pdf", HTML_THEN_PDF, "a web page", id="html-and-pdf-polyglot"),
    pytest.param("statement.pdf", PDF + zip_bytes({"evil.class": b"\xca\xfe\xba\xbe"}), "hidden", id="pdf-with-zip"),
    pytest.param("photo.jpg", JPEG + zip_bytes({"a.js": b"alert(1)"}), "hidden", id="jpeg-with-zip-gifar"),
    pytest.param("statement.pdf", PDF + b"0" * (10 * 1024 * 1024), "each file can be at most 10 MB", id="oversized"),
    pytest.param("statement.pdf", PDF[:30], "damaged or incomplete", id="truncated-pdf"),
    pytest.param("photo.png", COMPLETE_PNG[:40], "damaged or incomplete", id="truncated-png"),
    pytest.param("letter.docx", office("docx")[:-40], "damaged", id="truncated-docx"),
    pytest.param("letter.docx", zip_bomb_docx(), "unpack", id="zip-bomb-docx"),
    pytest.param("letter.docx", docm(), "macros", id="docm-content-type-renamed-docx"),
    pytest.param("letter.docm", docm(), "macros", id="docm"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_UPLOADS)
def test_a_bad_upload_is_refused_with_a_clear_message_and_nothing_saved(client, name, data, message):
    response = client.post("/", {**public_form(), "documents": [SimpleUploadedFile(name, data, "application/pdf")]})

    page = body(response)
    assert response.status_code not in (302, 303)
    assert message in page, page[page.find("documents-error") :][:600]
    assert escape(f"'{name}'") in page or f"&#x27;{name}&#x27;" in page  # the message names the file
    assert not Complaint.objects.exists()
    assert not Attachment.objects.exists()
    assert not OutboundMessage.objects.exists()
    storage = uploads.staging_storage()
    staged = storage.listdir(uploads.STAGING_DIR)[0] if storage.exists(uploads.STAGING_DIR) else []
    assert all(not storage.listdir(f"{uploads.STAGING_DIR}/{folder}")[1] for folder in staged)


@pytest.mark.parametrize(
    ("name", "data"),
    [("complete.png", COMPLETE_PNG), ("report.pdf", PDF), ("photo.jpg", JPEG), ("letter.docx", office("docx"))],
)
def test_complete_files_of_each_kind_are_still_accepted(name, data):
    assert uploads.validate_upload(SimpleUploadedFile(name, data)).size == len(data)


def test_the_existing_minimal_png_sample_is_complete():
    """The sample the other upload tests use ends with its IEND chunk, like every real PNG."""
    assert PNG.endswith(b"IEND\xaeB`\x82")


# --- Private files and downloads ---------------------------------------------------------------


def test_private_files_are_not_reachable_at_any_public_address(client):
    attachment = AttachmentFactory()
    stored = attachment.file.name
    root = settings.STORAGES["private"]["OPTIONS"]["location"]
    assert os.path.exists(os.path.join(root, stored))
    staff_client = signed_in(lead())
    for prefix in ("/", "/media/", "/static/", "/private/", "/static/../", "/var/private/", "/files/"):
        for requester in (client, staff_client):
            response = requester.get(prefix + stored)
            assert response.status_code == 404 or (
                response.status_code == 302 and response["Location"].startswith("/staff/login")
            ), prefix
            assert b"Call log" not in response.content
    assert settings.STORAGES["private"]["OPTIONS"]["base_url"] is None
    assert not str(root).startswith(str(settings.STATIC_ROOT))


HOSTILE_FILE_NAMES = [
    'quote".pdf',
    "new\r\nline.pdf",
    "Set-Cookie: x=1\r\n\r\n<script>.pdf",
    "../../etc/passwd.pdf",
    "..\\..\\windows.pdf",
    "caf\u00e9 \u202egnp.exe.pdf",
]


@pytest.mark.parametrize("original_name", HOSTILE_FILE_NAMES)
def test_every_download_is_an_attachment_with_nosniff_and_a_safe_name(original_name):
    """Even a name saved before the upload checks cleaned names (or by a future import) is made safe."""
    owner = manager()
    complaint = AcknowledgedComplaintFactory(assignee=owner)
    attachment = AttachmentFactory(complaint=complaint, original_name=original_name)
    response = signed_in(owner).get(reverse("staff:attachment_download", args=[complaint.reference, attachment.pk]))

    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert ".." not in disposition
    assert "/" not in disposition.split("filename", 1)[1]
    assert "\u202e" not in disposition
    assert "%E2%80%AE" not in disposition.upper()
    # A quote in the name is escaped by Django (\\"), never ends the parameter early.
    assert disposition.replace('\\"', "").count('"') in (0, 2)
    assert b"".join(response.streaming_content) == b"Call log, 2 Nov 2026\n"


def test_the_directors_download_of_an_appeal_document_gets_a_safe_name_too(appeal_factory):
    appeal = appeal_factory()
    document = AttachmentFactory(complaint=appeal.complaint, original_name="..\\x\r\nSet-Cookie: a=1\u202e.pdf")

    response = signed_in(director()).get(reverse("admin:appeals_appeal_attachment", args=[appeal.pk, document.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="x Set-Cookie: a=1.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_letters_download_as_attachments_with_nosniff_for_staff_and_client():
    owner = manager()
    complaint = responded(owner, assignee=owner)
    letter = complaint.letters.first()
    staff_download = signed_in(owner).get(reverse("staff:letter_download", args=[complaint.reference, letter.pk]))
    client_download = Client().get(reverse("client:letter_download", args=[links.client_token(complaint), letter.pk]))
    for response in (staff_download, client_download):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "application/pdf"
        assert complaint.reference in response["Content-Disposition"]


def test_a_document_uploaded_as_html_text_is_served_as_plain_text_never_inline():
    """A .txt full of HTML is accepted as text; it downloads as text/plain, attachment, nosniff."""
    owner = manager()
    complaint = AcknowledgedComplaintFactory(assignee=owner)
    html_text = b"<html><script>alert(document.cookie)</script></html>\n"
    upload = uploads.validate_upload(SimpleUploadedFile("page.txt", html_text))
    attachment = Attachment.objects.create(
        complaint=complaint,
        file=ContentFile(html_text, name="x.txt"),
        original_name=upload.original_name,
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
    )
    response = signed_in(owner).get(reverse("staff:attachment_download", args=[complaint.reference, attachment.pk]))

    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
