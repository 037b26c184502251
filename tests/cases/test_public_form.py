"""The public complaint form, its confirmation page, and the procedure and privacy pages."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases import links, uploads
from cases.business_days import add_business_days, london_today
from cases.models import Attachment, Complaint
from notifications.models import OutboundMessage
from tests.cases.test_uploads import EXE, PDF, PNG, office, plain_zip
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

FORM_URL = "/"


def form_data(**overrides) -> dict:
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "01494 123456",
        "organisation": "Analytical Engines Ltd",
        "preferred_contact": "email",
        "postal_address": "",
        "incident_date": (london_today() - timedelta(days=3)).isoformat(),
        "description": "The engineer changed our firewall and our VPN has been down since.",
        "desired_outcome": "Restore the VPN and refund the call-out fee.",
        "privacy_ack": "on",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def pdf(name: str = "report.pdf", data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def nothing_saved() -> bool:
    return not Complaint.objects.exists() and not OutboundMessage.objects.exists() and not Attachment.objects.exists()


def field_error(html: str, field_id: str) -> str:
    """The text of the error shown next to one field (empty if none)."""
    match = re.search(rf'<div id="{field_id}-error"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def summary_links(html: str) -> list[tuple[str, str]]:
    match = re.search(r'<div id="error-summary".*?</div>', html, re.S)
    assert match, "no error summary"
    return re.findall(r'<a href="(#[^"]+)">([^<]+)</a>', match.group(0))


def staged_files() -> list[str]:
    storage = uploads.staging_storage()
    try:
        folders, _ = storage.listdir(uploads.STAGING_DIR)
    except FileNotFoundError:
        return []
    return [name for folder in folders for name in storage.listdir(f"{uploads.STAGING_DIR}/{folder}")[1]]


# --- The form page --------------------------------------------------------------------


def test_form_page_links_to_the_procedure_and_the_privacy_notice(client):
    html = client.get(FORM_URL).content.decode()

    assert f'href="{reverse("public:procedure")}"' in html
    assert f'href="{reverse("public:privacy")}"' in html
    assert "six years after the case closes" in html


def test_every_field_has_a_label_and_phone_friendly_inputs(client):
    html = client.get(FORM_URL).content.decode()

    inputs = re.findall(r"<(?:input|textarea)\b[^>]*>", html)
    for tag in inputs:
        if 'type="hidden"' in tag or 'type="radio"' in tag:
            continue
        field_id = re.search(r'id="([^"]+)"', tag).group(1)
        assert f'for="{field_id}"' in html, f"no label for {field_id}"
    assert re.search(r'<input type="email" name="email" autocomplete="email"', html)
    assert re.search(r'<input type="tel" name="phone" autocomplete="tel"', html)
    assert re.search(r'<input type="date" name="incident_date"', html)
    assert 'autocomplete="name"' in html
    assert 'aria-describedby="id_email-hint"' in html
    assert "<legend" in html
    assert "How should we contact you?" in html
    assert 'multiple accept=".pdf,.png' in html


def test_form_needs_no_javascript(client):
    html = client.get(FORM_URL).content.decode()

    assert "<script" not in html
    assert " style=" not in html
    assert " onclick=" not in html


# --- A valid complaint ------------------------------------------------------------------


def test_valid_post_saves_one_complaint_and_its_acknowledgement_and_shows_the_reference(client):
    # The clock stands still: the secure link signed by the page and the one computed here carry the same time.
    with time_machine.travel(timezone.now(), tick=False):
        _valid_post_saves_one_complaint_and_shows_the_reference(client)


def _valid_post_saves_one_complaint_and_shows_the_reference(client):
    response = client.post(FORM_URL, form_data())

    complaint = Complaint.objects.get()
    assert OutboundMessage.objects.filter(complaint=complaint, kind="complaint_acknowledgement").count() == 1
    assert OutboundMessage.objects.count() == 1
    assert response.status_code == 303
    assert response["Location"].startswith(reverse("public:complaint_received", args=[links.client_token(complaint)]))
    assert complaint.channel == Complaint.Channel.WEB
    assert complaint.name == "Ada Lovelace"
    assert complaint.desired_outcome == "Restore the VPN and refund the call-out fee."

    page = client.get(response["Location"])
    html = page.content.decode()
    assert complaint.reference in html
    assert "ada@example.com" in html
    assert reverse("client:case", args=[links.client_token(complaint)]) in html


def test_documents_sent_with_a_valid_complaint_are_attached(client):
    client.post(FORM_URL, {**form_data(), "documents": [pdf(), SimpleUploadedFile("shot.png", PNG)]})

    attachments = Complaint.objects.get().attachments.order_by("original_name")
    assert [(a.original_name, a.content_type) for a in attachments] == [
        ("report.pdf", "application/pdf"),
        ("shot.png", "image/png"),
    ]
    assert attachments[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachments[0].file.read() == PDF


def test_confirmation_says_when_to_expect_the_outcome(client, settings):
    settings.COMPLAINT_OUTCOME_DAYS = 10
    response = client.post(FORM_URL, form_data(), follow=True)

    complaint = Complaint.objects.get()
    latest = add_business_days(complaint.acknowledgement_due, 10)
    html = response.content.decode()
    assert f"{complaint.acknowledgement_due:%A} {complaint.acknowledgement_due.day}" in html
    assert f"{latest:%A} {latest.day} {latest:%B %Y}" in html
    assert "within 10 working days" in html


def test_confirmation_works_without_a_session(client, django_user_model):
    complaint = ComplaintFactory(email="grace@example.com")
    token = links.client_token(complaint)

    client.cookies.clear()
    response = client.get(reverse("public:complaint_received", args=[token]))

    assert response.status_code == 200
    assert complaint.reference in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"


def test_confirmation_with_a_forged_token_is_not_found(client):
    complaint = ComplaintFactory()
    token = links.client_token(complaint)

    assert client.get(reverse("public:complaint_received", args=[token[:-4] + "AAAA"])).status_code == 404
    assert client.get(reverse("public:complaint_received", args=["JPD-2026-00001-X"])).status_code == 404


# --- Errors ---------------------------------------------------------------------------------

REQUIRED = {
    "name": "Enter your full name.",
    "email": "Enter your email address, so that we can send your reference number.",
    "incident_date": "Enter the date of the incident (an approximate date is fine).",
    "description": "Tell us what went wrong.",
    "privacy_ack": "Please confirm that you have read the privacy notice.",
}


def test_every_missing_required_field_is_shown_next_to_it_and_in_the_summary(client):
    response = client.post(FORM_URL, form_data(**dict.fromkeys(REQUIRED)))

    html = response.content.decode()
    assert response.status_code == 200
    assert nothing_saved()
    links_ = summary_links(html)
    for name, message in REQUIRED.items():
        assert field_error(html, f"id_{name}") == f"Error: {message}"
        assert (f"#id_{name}", message) in links_
        assert re.search(rf'aria-describedby="[^"]*id_{name}-error"', html), name
    assert 'id="error-summary"' in html
    assert 'tabindex="-1"' in html
    assert 'role="alert"' in html
    assert "<title>Error: Make a complaint" in html


def test_what_was_typed_is_kept_when_there_are_errors(client):
    response = client.post(FORM_URL, form_data(email="not-an-email"))

    html = response.content.decode()
    assert field_error(html, "id_email") == "Error: Enter an email address like name@example.com."
    assert "The engineer changed our firewall" in html
    assert 'value="Ada Lovelace"' in html
    assert nothing_saved()


def test_postal_address_is_needed_when_post_is_preferred(client):
    response = client.post(FORM_URL, form_data(preferred_contact="post"))

    html = response.content.decode()
    assert "Enter a postal address" in field_error(html, "id_postal_address")
    assert nothing_saved()


def test_radio_group_error_links_to_its_first_option(client):
    response = client.post(FORM_URL, form_data(preferred_contact=None))

    assert ("#id_preferred_contact_0", "Choose how we should contact you.") in summary_links(response.content.decode())


def test_incident_date_in_the_future_is_refused(client):
    tomorrow = london_today() + timedelta(days=1)

    response = client.post(FORM_URL, form_data(incident_date=tomorrow.isoformat()))

    assert field_error(response.content.decode(), "id_incident_date") == (
        "Error: The date of the incident cannot be in the future."
    )
    assert nothing_saved()


# --- Documents ------------------------------------------------------------------------------


def test_program_renamed_pdf_is_refused_and_nothing_saved(client):
    response = client.post(FORM_URL, {**form_data(), "documents": [pdf("report.pdf", EXE)]})

    html = response.content.decode()
    assert "&#x27;report.pdf&#x27; is not a PDF: it looks like a Windows program." in field_error(html, "id_documents")
    assert nothing_saved()
    assert staged_files() == []


def test_zip_renamed_docx_is_refused(client):
    response = client.post(FORM_URL, {**form_data(), "documents": [SimpleUploadedFile("contract.docx", plain_zip())]})

    assert "is not a Word document: it looks like a zip archive" in response.content.decode()
    assert nothing_saved()


def test_oversized_file_is_refused(client, settings):
    settings.INTAKE_MAX_FILE_BYTES = 1024

    response = client.post(FORM_URL, {**form_data(), "documents": [pdf("scan.pdf", PDF + b"0" * 1024)]})

    assert "scan.pdf&#x27; is 1.1 KB; each file can be at most 1 KB." in response.content.decode()
    assert nothing_saved()


def test_six_files_are_refused(client, settings):
    files = [pdf(f"page{i}.pdf", PDF + str(i).encode()) for i in range(6)]

    response = client.post(FORM_URL, {**form_data(), "documents": files})

    assert "You can attach up to 5 files; you chose 6." in response.content.decode()
    assert nothing_saved()
    assert staged_files() == []


def test_five_files_are_accepted(client):
    files = [pdf(f"page{i}.pdf", PDF + str(i).encode()) for i in range(5)]

    client.post(FORM_URL, {**form_data(), "documents": files})

    assert Complaint.objects.get().attachments.count() == 5


def test_valid_file_is_kept_through_an_error_elsewhere_and_attached_on_success(client):
    first = client.post(FORM_URL, {**form_data(description=""), "documents": [pdf(), pdf("bad.pdf", EXE)]})

    html = first.content.decode()
    assert nothing_saved()
    assert "Already attached" in html
    assert 'report.pdf <span class="text-body-secondary">(' in html
    assert "bad.pdf" in field_error(html, "id_documents")
    assert len(staged_files()) == 1
    kept = re.search(r'name="kept_documents" value="([^"]+)"', html).group(1)

    second = client.post(FORM_URL, form_data(kept_documents=kept))

    assert second.status_code == 303
    (attachment,) = Complaint.objects.get().attachments.all()
    assert attachment.original_name == "report.pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.file.read() == PDF
    assert staged_files() == []


def test_kept_file_can_be_removed(client):
    first = client.post(FORM_URL, {**form_data(name=""), "documents": [pdf()]})
    html = first.content.decode()
    kept = re.search(r'name="kept_documents" value="([^"]+)"', html).group(1)
    key = re.search(r'name="remove_document" value="([0-9a-f]+)"', html).group(1)

    client.post(FORM_URL, form_data(kept_documents=kept, remove_document=key))

    assert Complaint.objects.get().attachments.count() == 0
    assert staged_files() == []


def test_kept_files_count_towards_the_limit(client, settings):
    settings.INTAKE_MAX_FILES = 2
    first = client.post(FORM_URL, {**form_data(name=""), "documents": [pdf("a.pdf"), pdf("b.pdf", PDF + b"b")]})
    kept = re.search(r'name="kept_documents" value="([^"]+)"', first.content.decode()).group(1)

    second = client.post(FORM_URL, {**form_data(kept_documents=kept), "documents": [pdf("c.pdf", PDF + b"c")]})

    assert "You can attach up to 2 files; you chose 1 (plus 2 already attached)." in second.content.decode()
    assert nothing_saved()


def test_forged_kept_documents_value_is_ignored(client):
    response = client.post(FORM_URL, form_data(kept_documents="forged:value"))

    assert response.status_code == 303
    assert Complaint.objects.get().attachments.count() == 0


def test_docx_is_accepted_on_the_form(client):
    client.post(FORM_URL, {**form_data(), "documents": [SimpleUploadedFile("letter.docx", office("docx"))]})

    assert Complaint.objects.get().attachments.get().original_name == "letter.docx"


# --- Bots and floods --------------------------------------------------------------------------


def test_honeypot_post_looks_accepted_but_saves_nothing(client, caplog):
    with caplog.at_level(logging.INFO, logger="cases.views.public"):
        response = client.post(FORM_URL, {**form_data(website="http://spam.example"), "documents": [pdf()]})

    assert response.status_code == 303
    assert response["Location"] == reverse("public:complaint_thanks")
    assert nothing_saved()
    assert staged_files() == []
    assert "honeypot" in caplog.text
    assert "Ada" not in caplog.text
    assert "ada@example.com" not in caplog.text
    thanks = client.get(response["Location"]).content.decode()
    assert "Thank you" in thanks
    assert "JPD-" not in thanks


def test_over_the_hourly_limit_the_form_comes_back_with_429_and_everything_typed(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = True
    settings.INTAKE_RATE_LIMIT_PER_HOUR = 1
    assert client.post(FORM_URL, form_data()).status_code == 303

    response = client.post(FORM_URL, {**form_data(description="A second, different problem."), "documents": [pdf()]})

    html = response.content.decode()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert Complaint.objects.count() == 1
    assert OutboundMessage.objects.count() == 1
    assert "A second, different problem." in html
    assert 'value="Ada Lovelace"' in html
    assert "Please try again a little later" in html
    assert settings.COMPANY["phone"] in html
    assert "Already attached" in html
    assert "report.pdf" in html


def test_limit_counts_each_address_separately(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = True
    settings.INTAKE_RATE_LIMIT_PER_HOUR = 1

    client.post(FORM_URL, form_data(), REMOTE_ADDR="192.0.2.1")
    response = client.post(FORM_URL, form_data(), REMOTE_ADDR="192.0.2.2")

    assert response.status_code == 303
    assert Complaint.objects.count() == 2


def test_limit_can_be_switched_off(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    settings.INTAKE_RATE_LIMIT_PER_HOUR = 1

    statuses = [client.post(FORM_URL, form_data()).status_code for _ in range(3)]

    assert statuses == [303, 303, 303]
    assert Complaint.objects.count() == 3


# --- Procedure and privacy -------------------------------------------------------------------


def test_procedure_page_shows_the_day_counts_from_settings(client, settings):
    settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS = 3
    settings.COMPLAINT_OUTCOME_DAYS = 12
    settings.APPEAL_WINDOW_DAYS = 25
    settings.APPEAL_ACKNOWLEDGEMENT_DAYS = 4
    settings.APPEAL_DECISION_DAYS = 18

    html = client.get(reverse("public:procedure")).content.decode()

    assert '<strong class="days-acknowledgement">3 working days</strong>' in html
    assert '<strong class="days-outcome">12 working days</strong>' in html
    assert '<strong class="days-appeal-window">25 working days</strong>' in html
    assert '<strong class="days-appeal-acknowledgement">4 working days</strong>' in html
    assert '<strong class="days-appeal-decision">18 working days</strong>' in html


def test_procedure_page_uses_the_default_day_counts_and_company_details(client, settings):
    html = client.get(reverse("public:procedure")).content.decode()

    assert '<strong class="days-acknowledgement">2 working days</strong>' in html
    assert '<strong class="days-outcome">10 working days</strong>' in html
    assert '<strong class="days-appeal-decision">15 working days</strong>' in html
    assert "after 17:30" in html
    assert settings.COMPANY["appeals_email"] in html
    assert settings.COMPANY["phone"] in html
    assert "HP13 5AJ" in html


def test_procedure_page_follows_the_close_of_business_setting(client, settings):
    from datetime import time

    settings.CLOSE_OF_BUSINESS = time(17, 0)

    assert "after 17:00" in client.get(reverse("public:procedure")).content.decode()


def test_privacy_notice_says_who_why_how_long_and_the_rights(client, settings):
    html = client.get(reverse("public:privacy")).content.decode()

    assert settings.COMPANY["name"] in html
    assert "Why we use it" in html
    assert "for six years after the case closes" in html
    assert "Your rights" in html
    assert "Information Commissioner" in html


def test_the_same_document_chosen_again_is_kept_once(client):
    first = client.post(FORM_URL, {**form_data(name=""), "documents": [pdf()]})
    kept = re.search(r'name="kept_documents" value="([^"]+)"', first.content.decode()).group(1)

    client.post(FORM_URL, {**form_data(kept_documents=kept), "documents": [pdf("report-copy.pdf")]})

    assert [a.original_name for a in Complaint.objects.get().attachments.all()] == ["report.pdf"]
