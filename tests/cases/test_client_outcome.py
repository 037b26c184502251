"""The client's page shows our response in the page itself (findings, reasons, each promised action with
the role responsible, its date and progress), our questions with their own answers, and gives back the
documents they sent."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import links, services, uploads
from cases.models import Attachment
from tests.cases.test_uploads import PDF
from tests.factories import AcknowledgedComplaintFactory, business_days_from_today, lead, manager

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def page(client, complaint):
    return client.get(reverse("client:case", args=[links.client_token(complaint)]))


def test_an_upheld_outcome_reads_on_the_page_with_each_action_its_role_date_and_progress(client):
    worker, boss = manager(first_name="Sam", last_name="Okafor"), lead(first_name="Priya", last_name="Shah")
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    first, second = business_days_from_today(3), business_days_from_today(8)
    complaint = services.complaint_issue_outcome(
        actor=worker,
        complaint=complaint,
        outcome="upheld",
        findings="The engineer was sent elsewhere and <nobody> told you.",
        actions=[
            services.ActionSpec(kind="put_right", description="Refund the call-out fee.", owner=worker, due_date=first),
            services.ActionSpec(
                kind="prevent_recurrence", description="Text clients when plans change.", owner=boss, due_date=second
            ),
        ],
    )
    done = complaint.actions.get(description="Refund the call-out fee.")
    services.action_mark_done(actor=worker, action=done)

    response = page(client, complaint)
    shown = text_of(response)

    assert "Our response" in shown
    assert "Our decision: upheld" in shown
    assert "The engineer was sent elsewhere and <nobody> told you." in shown
    assert "&lt;nobody&gt;" in response.content.decode()  # escaped, never markup
    assert f"Refund the call-out fee. Responsible: Manager. By {first:%-d %B %Y}. Done" in shown
    assert f"Text clients when plans change. Responsible: Complaints lead. By {second:%-d %B %Y}. Not done yet" in shown
    assert "Sam Okafor" not in shown  # roles, not staff names
    assert "Priya Shah" not in shown


def test_a_not_upheld_outcome_gives_its_reasons(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    complaint = services.complaint_issue_outcome(
        actor=worker, complaint=complaint, outcome="not_upheld", findings="Arrived in the window.", reasons="As booked."
    )
    shown = text_of(page(client, complaint))
    assert "Our decision: not upheld" in shown
    assert "Our reasons As booked." in shown


def test_no_response_section_before_the_outcome(client):
    assert "Our response" not in text_of(page(client, AcknowledgedComplaintFactory()))


def test_the_page_shows_our_questions_with_the_clients_own_answers(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site was it?")
    services.complaint_client_reply(complaint=complaint, text="The Amersham office.")

    shown = text_of(page(client, complaint))

    assert "Our questions and your answers" in shown
    assert "Which site was it?" in shown
    assert "You answered on" in shown
    assert "The Amersham office." in shown


def test_a_question_closed_by_a_withdrawal_says_so(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site was it?")
    services.complaint_withdraw(complaint=complaint)
    shown = text_of(page(client, complaint))
    assert "without an answer" in shown
    assert "the complaint was withdrawn)" not in shown


def test_the_client_downloads_their_own_documents_and_no_one_elses(client):
    complaint = AcknowledgedComplaintFactory()
    upload = uploads.validate_upload(SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf"))
    services.client_write(complaint=complaint, text="", files=[upload])
    theirs = Attachment.objects.get(complaint=complaint)
    token = links.client_token(complaint)
    other = AcknowledgedComplaintFactory()
    services.client_write(complaint=other, text="", files=[upload])
    someone_elses = Attachment.objects.get(complaint=other)

    listed = client.get(reverse("client:case", args=[token])).content.decode()
    url = reverse("client:document_download", args=[token, theirs.pk])
    assert url in listed
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert 'filename="invoice.pdf"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store, private"
    assert client.get(reverse("client:document_download", args=[token, someone_elses.pk])).status_code == 404
