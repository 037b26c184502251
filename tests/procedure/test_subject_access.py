"""Subject access (issue 7, point 7): a complaints lead exports everything held about an email address,
as a JSON file and as a readable PDF, from a leads-only page; the export is in each case's audit log."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from audit.models import AuditEntry
from cases import services
from notifications.models import Letter, OutboundMessage
from procedure import retention
from tests.appeals.helpers import deliver, lodged, responded
from tests.factories import AcknowledgedComplaintFactory, AttachmentFactory, director, lead, manager
from tests.services import missing

pytestmark = pytest.mark.django_db

URL = "staff:subject_access"
EMAIL = "persephone@example.org"


@pytest.fixture
def boss():
    return lead(first_name="Lena", last_name="Lead")


@pytest.fixture
def as_lead(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def held():
    """Two complaints by the same person (one appealed), and someone else's."""
    worker = manager(first_name="Max", last_name="Manager")
    first = responded(
        worker,
        assignee=worker,
        name="Persephone Quillfeather",
        email=EMAIL,
        phone="07700 900123",
        description="The first complaint: the router.",
    )
    services.complaint_add_note(actor=worker, complaint=first, text="An internal thought about the router.")
    AttachmentFactory(complaint=first, original_name="router-photo.txt")
    deliver(kind="outcome_letter")
    lodged(first)
    second = AcknowledgedComplaintFactory(
        name="Persephone Quillfeather", email=EMAIL.upper(), description="The second complaint: the invoice."
    )
    stranger = AcknowledgedComplaintFactory(
        name="Someone Else", email="someone@example.org", description="Not hers at all."
    )
    letter = Letter(complaint=stranger, kind="acknowledgement")
    letter.file.save("x.pdf", ContentFile(b"%PDF-1.7"), save=False)
    letter.save()
    return {"first": first, "second": second, "stranger": stranger}


def test_the_export_holds_every_complaint_with_the_address_whatever_its_capitals(held):
    data = retention.subject_access_export(email="Persephone@Example.org")

    references = [c["reference"] for c in data["complaints"]]
    assert sorted(references) == sorted([held["first"].reference, held["second"].reference])
    assert held["stranger"].reference not in json.dumps(data)
    assert "Someone Else" not in json.dumps(data)


def test_the_export_holds_details_timeline_notes_appeal_letters_and_messages(held):
    data = retention.subject_access_export(email=EMAIL)
    first = next(c for c in data["complaints"] if c["reference"] == held["first"].reference)

    assert first["your_details"]["name"] == "Persephone Quillfeather"
    assert first["your_details"]["phone"] == "07700 900123"
    assert first["complaint"]["description"] == "The first complaint: the router."
    assert first["outcome"]["outcome"] == "Not upheld"
    assert first["handled_by"] == "Max Manager"
    timeline = first["timeline"]
    assert any(e["shown_to_client"] for e in timeline)
    assert any(not e["shown_to_client"] for e in timeline)  # internal entries too
    assert first["internal_notes"][0]["text"] == "An internal thought about the router."
    assert [d["name"] for d in first["documents"]] == ["router-photo.txt"]
    assert "Outcome letter" in [letter["letter"] for letter in first["letters"]]
    assert first["appeal"]["reasons"]
    sent = first["emails_sent_to_you"]
    assert {m["to"] for m in sent} == {EMAIL}
    assert any(m["what"] == "Outcome letter" and m["state"] == "Sent" and m["text"] for m in sent)


def test_the_export_never_lists_messages_to_staff(held):
    staff_messages = OutboundMessage.objects.filter(complaint=held["first"]).exclude(to_email=EMAIL)
    data = json.dumps(retention.subject_access_export(email=EMAIL))
    for message in staff_messages:
        assert message.to_email not in data


def test_an_empty_address_finds_nothing_even_if_cases_have_no_address():
    AcknowledgedComplaintFactory(email="")
    assert retention.subject_access_export(email="  ")["complaints"] == []


def test_a_lead_downloads_the_json_file_and_each_case_records_the_export(as_lead, boss, held):
    response = as_lead.post(reverse(URL), {"email": EMAIL, "file_format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="subject-access-')
    assert EMAIL not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert len(data["complaints"]) == 2
    entries = AuditEntry.objects.filter(action="export")
    assert {e.complaint for e in entries} == {held["first"], held["second"]}
    assert {(e.user, e.method, e.path) for e in entries} == {(boss, "POST", reverse(URL))}
    assert all(EMAIL not in e.description for e in entries)


def test_a_lead_downloads_a_readable_pdf(as_lead, held):
    response = as_lead.post(reverse(URL), {"email": EMAIL, "file_format": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert AuditEntry.objects.filter(action="export", description__contains="(PDF)").count() == 2
    if shutil.which("pdftotext") is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "Persephone Quillfeather" in text
    assert held["first"].reference in text
    assert "An internal thought about the router." in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", text)  # dates are written for people, not ISO


def test_nothing_held_says_so_and_is_recorded(as_lead):
    response = as_lead.post(reverse(URL), {"email": "nobody@example.org", "file_format": "json"})

    assert response.status_code == 200
    assert "We hold no complaint made with that email address" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert entry.complaint is None
    assert "nobody@example.org" not in entry.description


def test_a_bad_address_is_a_form_error_and_exports_nothing(as_lead, held):
    response = as_lead.post(reverse(URL), {"email": "not-an-address", "file_format": "json"})

    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_the_form_page_posts_the_address_never_in_a_url(as_lead):
    body = as_lead.get(reverse(URL)).content.decode()
    assert 'method="post"' in body
    assert 'name="email"' in body


@pytest.mark.parametrize("make", [manager, director])
def test_only_leads_export(client, make, held):
    client.force_login(make())
    for method in ("get", "post"):
        response = getattr(client, method)(reverse(URL), {"email": EMAIL, "file_format": "json"})
        assert response.status_code == 403
        assert b"Persephone" not in response.content
