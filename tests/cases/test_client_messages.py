"""The client writes to us at any time while the complaint or its appeal is open (/track/<token>/write/),
and staff add documents that came another way; neither changes a deadline unless it answers our question."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import links, services, uploads
from cases.models import Attachment, ClientMessage, Complaint, ComplaintEvent, InformationRequest
from jpdit_complaints.storage import private_storage
from notifications.models import OutboundMessage
from notifications.services import message_deliver
from tests.cases.test_uploads import EXE, PDF
from tests.factories import AcknowledgedComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db

Status = Complaint.Status
Event = ComplaintEvent.Kind


@pytest.fixture(autouse=True)
def _no_staging_left_over():
    uploads.purge_stale_staging(max_age=timedelta(0))
    yield
    uploads.purge_stale_staging(max_age=timedelta(0))


def investigating(worker=None) -> Complaint:
    worker = worker or manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    return services.complaint_start_investigation(actor=worker, complaint=complaint)


def pdf(name="letter.pdf", content=PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def validated(name="letter.pdf"):
    return uploads.validate_upload(pdf(name))


def write_url(complaint) -> str:
    return reverse("client:write", args=[links.client_token(complaint)])


def page_url(complaint) -> str:
    return reverse("client:case", args=[links.client_token(complaint)])


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def staff_emails(complaint) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(complaint=complaint, kind="staff_client_reply"))


def files_in_storage() -> set[str]:
    storage = private_storage()

    def walk(folder: str) -> set[str]:
        if not storage.exists(folder):
            return set()
        folders, names = storage.listdir(folder)
        found = {f"{folder}/{name}" for name in names}
        for child in folders:
            found |= walk(f"{folder}/{child}")
        return found

    return walk("attachments")


# --- The service ------------------------------------------------------------------------------------------


def test_a_message_while_investigating_is_recorded_and_changes_no_deadline():
    worker = manager()
    complaint = investigating(worker)
    due, revision = complaint.outcome_due, complaint.revision

    message = services.client_write(complaint=complaint, text="  The engineer came back today.  ", files=[validated()])

    assert isinstance(message, ClientMessage)
    assert message.channel == ClientMessage.Channel.WEB
    assert message.text == "The engineer came back today."
    assert message.document_names == ["letter.pdf"]
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.outcome_due == due
    assert complaint.revision == revision
    attachment = Attachment.objects.get(complaint=complaint)
    assert (attachment.source, attachment.for_appeal, attachment.uploaded_by) == (Attachment.Source.CLIENT, False, None)
    event = complaint.events.get(kind=Event.CLIENT_WROTE)
    assert event.summary == "You sent us a message, with letter.pdf"
    assert event.client_visible
    [email] = staff_emails(complaint)
    assert email.to_email == worker.email
    assert email.context["message_only"] is True
    assert message_deliver(email.pk) == "sent"
    email.refresh_from_db()
    assert email.subject == f"Complaint {complaint.reference}: the client has written to us"
    assert "It changes no deadline." in email.body_text
    assert "The engineer came back" not in email.body_text  # never copied into emails


def test_documents_alone_are_a_message_too():
    complaint = investigating()
    services.client_write(complaint=complaint, text="", files=[validated("photo.pdf")])
    assert complaint.events.get(kind=Event.CLIENT_WROTE).summary == "You sent us documents: photo.pdf"


def test_while_we_wait_for_the_client_what_they_write_is_the_answer_and_the_clock_restarts():
    worker = manager()
    complaint = investigating(worker)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")

    answered = services.client_write(complaint=complaint, text="Amersham.")

    assert isinstance(answered, InformationRequest)
    assert answered.answer == "Amersham."
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.clock_stopped_at is None
    assert not ClientMessage.objects.exists()


def test_nothing_to_send_is_refused():
    complaint = investigating()
    with pytest.raises(ValidationError, match="Write a message or attach a document"):
        services.client_write(complaint=complaint, text="   ")
    assert not ClientMessage.objects.exists()


@pytest.mark.parametrize("status", [Status.CLOSED, Status.RESPONDED, Status.NOT_A_COMPLAINT, Status.WITHDRAWN])
def test_a_closed_case_takes_no_message_and_keeps_no_file(status):
    complaint = AcknowledgedComplaintFactory(status=status)
    before = files_in_storage()
    with pytest.raises(ValidationError, match="we can no longer add messages"):
        services.client_write(complaint=complaint, text="Hello", files=[validated()])
    assert not ClientMessage.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in_storage() == before


def test_while_the_appeal_is_open_documents_go_with_the_appeal_and_the_directors_hear_of_it(appeal_factory):
    the_director = director()
    appeal = appeal_factory()
    complaint = appeal.complaint

    services.client_write(complaint=complaint, text="One more thing for the Director.", files=[validated()])

    assert Attachment.objects.get(complaint=complaint).for_appeal is True
    recipients = {email.to_email for email in staff_emails(complaint)}
    assert the_director.email in recipients
    assert all(email.context["for_appeal"] for email in staff_emails(complaint))


# --- The client's page ------------------------------------------------------------------------------------


def test_the_page_offers_the_message_form_while_the_complaint_is_open(client):
    complaint = investigating()
    token = links.client_token(complaint)  # a token carries its time: make it once
    response = client.get(reverse("client:case", args=[token]))
    page = text_of(response)
    assert "Send us a message or documents" in page
    assert f'action="{reverse("client:write", args=[token])}#write"' in response.content.decode()
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_a_message_with_a_document_reaches_the_case_and_shows_on_the_page(client):
    complaint = investigating()
    response = client.post(write_url(complaint), {"text": "Photos of the cabinet attached.", "documents": [pdf()]})
    assert response.status_code == 303
    page = text_of(client.get(response["Location"]))
    assert "your message has reached us" in page
    assert "You sent us a message, with letter.pdf" in page
    assert "letter.pdf" in page  # listed with their documents
    assert "Your messages to us" in page
    assert "Photos of the cabinet attached." in page  # what they wrote, on their own page
    assert ClientMessage.objects.get(complaint=complaint).text == "Photos of the cabinet attached."


def test_a_disguised_file_is_refused_with_its_reason_and_nothing_is_sent(client):
    complaint = investigating()
    response = client.post(write_url(complaint), {"text": "See attached", "documents": [pdf("invoice.pdf", EXE)]})
    assert response.status_code == 400
    assert "'invoice.pdf' is not a PDF: it looks like a Windows program." in text_of(response)
    assert b"See attached</textarea>" in response.content  # what they typed is kept
    assert not ClientMessage.objects.exists()
    assert not Attachment.objects.exists()


def test_an_empty_message_is_refused_with_a_clear_error(client):
    complaint = investigating()
    response = client.post(write_url(complaint), {"text": ""})
    assert response.status_code == 400
    assert "Write your message, or attach a document." in text_of(response)


def test_a_message_to_a_closed_case_is_refused_and_the_text_shown_back(client):
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
    response = client.post(write_url(complaint), {"text": "Are you there?"})
    assert response.status_code == 409
    page = text_of(response)
    assert "This complaint is closed, so your message was not sent." in page
    assert "What you wrote (not sent): Are you there?" in page
    assert not ClientMessage.objects.exists()


def test_a_forged_link_cannot_write_and_learns_nothing(client):
    investigating()
    response = client.post(reverse("client:write", args=["not-a-token"]), {"text": "Hi"})
    assert response.status_code == 404
    assert "Send us a message" not in text_of(response)
    assert not ClientMessage.objects.exists()


def test_staff_see_the_message_on_the_case_page(client):
    worker = manager()
    complaint = investigating(worker)
    services.client_write(complaint=complaint, text="Written on the web page.")
    client.force_login(worker)
    page = text_of(client.get(reverse("staff:case", args=[complaint.reference])))
    assert "Messages from the client" in page
    assert "on their case page" in page
    assert "Written on the web page." in page


# --- Staff add documents ----------------------------------------------------------------------------------


def documents_url(complaint) -> str:
    return reverse("staff:case_add_documents", args=[complaint.reference])


def test_staff_add_a_scanned_letter_recorded_as_who_added_it_and_the_client_is_not_told(client):
    worker = manager()
    complaint = investigating(worker)
    client.force_login(worker)
    response = client.post(
        documents_url(complaint),
        {
            "documents-expected_revision": complaint.revision,
            "documents-documents": [pdf("scan.pdf")],
            "documents-note": "the client's letter of 3 March",
        },
    )
    assert response.status_code == 303
    attachment = Attachment.objects.get(complaint=complaint)
    assert (attachment.source, attachment.uploaded_by, attachment.original_name) == (
        Attachment.Source.STAFF,
        worker,
        "scan.pdf",
    )
    event = complaint.events.get(kind=Event.ATTACHMENT_ADDED)
    assert event.actor == worker
    assert event.summary == "Documents added by staff: scan.pdf (the client's letter of 3 March)"
    assert not event.client_visible
    assert not OutboundMessage.objects.filter(complaint=complaint, kind="staff_client_reply").exists()
    assert "scan.pdf" in text_of(client.get(reverse("staff:case", args=[complaint.reference])))


def test_adding_no_document_is_refused_and_a_disguised_one_too(client):
    worker = manager()
    complaint = investigating(worker)
    client.force_login(worker)
    empty = client.post(documents_url(complaint), {"documents-expected_revision": complaint.revision})
    assert empty.status_code == 400
    assert "Choose the documents to add." in text_of(empty)
    disguised = client.post(
        documents_url(complaint),
        {"documents-expected_revision": complaint.revision, "documents-documents": [pdf("setup.pdf", EXE)]},
    )
    assert disguised.status_code == 400
    assert "looks like a Windows program" in text_of(disguised)
    assert not Attachment.objects.exists()


def test_a_manager_with_no_role_in_the_case_cannot_add_documents(client):
    complaint = investigating()
    client.force_login(manager())
    response = client.post(
        documents_url(complaint),
        {"documents-expected_revision": complaint.revision, "documents-documents": [pdf()]},
    )
    assert response.status_code == 404
    assert not Attachment.objects.exists()


def test_an_anonymised_case_takes_no_documents():
    from django.utils import timezone

    complaint = AcknowledgedComplaintFactory(anonymised_at=timezone.now())
    before = files_in_storage()
    with pytest.raises(ValidationError, match="personal data of this case was removed"):
        services.complaint_add_documents(actor=lead(), complaint=complaint, files=[validated()])
    assert not Attachment.objects.exists()
    assert files_in_storage() == before
