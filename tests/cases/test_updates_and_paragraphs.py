"""Staff send the client an update that is not a question (emailed, on their page, no clock change), and
insert the administrator's reusable paragraphs into updates, questions and an outcome's findings."""

from __future__ import annotations

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import links, services
from cases.models import ClientUpdate, Complaint, ComplaintEvent, Paragraph
from notifications.models import OutboundMessage
from notifications.services import message_deliver
from tests.factories import AcknowledgedComplaintFactory, manager

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def investigating(worker, **kwargs) -> Complaint:
    complaint = AcknowledgedComplaintFactory(assignee=worker, **kwargs)
    return services.complaint_start_investigation(actor=worker, complaint=complaint)


def test_an_update_is_emailed_with_the_reference_shown_to_the_client_and_changes_no_date(client):
    worker = manager()
    complaint = investigating(worker)
    due, status = complaint.outcome_due, complaint.status
    client.force_login(worker)

    response = client.post(
        reverse("staff:case_update", args=[complaint.reference]),
        {"update-expected_revision": complaint.revision, "update-text": "The engineer's report is due on Friday."},
    )

    assert response.status_code == 303
    complaint.refresh_from_db()
    assert (complaint.outcome_due, complaint.status) == (due, status)
    update = ClientUpdate.objects.get(complaint=complaint)
    assert (update.text, update.sent_by) == ("The engineer's report is due on Friday.", worker)
    event = complaint.events.get(kind=ComplaintEvent.Kind.UPDATE_SENT)
    assert event.client_visible
    [email] = OutboundMessage.objects.filter(kind="client_update")
    assert message_deliver(email.pk) == "sent"
    email.refresh_from_db()
    assert email.subject == f"An update on your complaint {complaint.reference}"
    assert "The engineer's report is due on Friday." in email.body_text
    client.logout()
    shown = text_of(client.get(reverse("client:case", args=[links.client_token(complaint)])))
    assert "Updates from us" in shown
    assert "The engineer's report is due on Friday." in shown


def test_an_update_needs_words_and_an_open_case():
    worker = manager()
    complaint = investigating(worker)
    with pytest.raises(ValidationError, match="Write the update"):
        services.complaint_send_update(actor=worker, complaint=complaint, text="  ")
    closed = AcknowledgedComplaintFactory(assignee=worker, status=Complaint.Status.CLOSED)
    with pytest.raises(ValidationError, match="updates are for open cases"):
        services.complaint_send_update(actor=worker, complaint=closed, text="Hello")
    assert not ClientUpdate.objects.exists()


def test_a_client_without_email_gets_the_update_on_their_page_only():
    worker = manager()
    complaint = investigating(worker, email="", preferred_contact="post", postal_address="1 High St")
    services.complaint_send_update(actor=worker, complaint=complaint, text="Still looking into it.")
    assert not OutboundMessage.objects.filter(kind="client_update").exists()
    assert complaint.events.get(kind="update_sent").summary == "We sent you an update on your page"


def test_inserting_a_paragraph_adds_it_to_the_text_to_edit_and_sends_nothing(client):
    worker = manager()
    complaint = investigating(worker)
    paragraph = Paragraph.objects.create(title="Delay apology", text="We are sorry this is taking longer.")
    Paragraph.objects.create(title="Retired", text="Old words.", active=False)
    client.force_login(worker)
    page = client.get(reverse("staff:case", args=[complaint.reference])).content.decode()
    assert "Delay apology" in page
    assert "Retired" not in page

    response = client.post(
        reverse("staff:case_update", args=[complaint.reference]),
        {
            "update-expected_revision": complaint.revision,
            "update-text": "Dear client,",
            "update-paragraph": str(paragraph.pk),
            "insert_paragraph": "1",
        },
    )

    assert response.status_code == 200
    assert "Dear client,\n\nWe are sorry this is taking longer.</textarea>" in response.content.decode()
    assert not ClientUpdate.objects.exists()
    assert not OutboundMessage.objects.filter(kind="client_update").exists()


def test_a_paragraph_goes_into_a_question_and_into_an_outcomes_findings(client):
    worker = manager()
    complaint = investigating(worker)
    paragraph = Paragraph.objects.create(title="Site question", text="Which of your sites was affected?")
    client.force_login(worker)

    question = client.post(
        reverse("staff:case_request_information", args=[complaint.reference]),
        {
            "request-expected_revision": complaint.revision,
            "request-message": "",
            "request-paragraph": paragraph.pk,
            "insert_paragraph": "1",
        },
    )
    assert "Which of your sites was affected?</textarea>" in question.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING  # nothing was sent

    findings = client.post(
        reverse("staff:outcome", args=[complaint.reference]),
        {
            "findings": "We checked the rota.",
            "paragraph": paragraph.pk,
            "insert_paragraph": "1",
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "0",
            "actions-MIN_NUM_FORMS": "0",
            "actions-MAX_NUM_FORMS": "20",
        },
    )
    assert findings.status_code == 200
    assert "We checked the rota.\n\nWhich of your sites was affected?</textarea>" in findings.content.decode()
