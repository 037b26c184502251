"""Staff record an answer the client gave by phone, by letter or in person (a client without email, or one who
rang): the same answer as one sent on their page, the clock restarting from when it reached us."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import business_days, links, services, uploads
from cases.models import Attachment, Complaint, ComplaintEvent
from notifications.models import OutboundMessage
from tests.cases.test_client_reply import LONDON, pdf, text_of, waiting
from tests.factories import manager

pytestmark = pytest.mark.django_db
Status = Complaint.Status
# The question is asked on Monday 11 January 2027; the client rings back on Thursday 14 January.
ASKED = dt.datetime(2027, 1, 11, 10, 0, tzinfo=LONDON)
RANG = dt.datetime(2027, 1, 14, 11, 0, tzinfo=LONDON)
RECORDED = dt.datetime(2027, 1, 15, 9, 30, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _no_staging_left_over():
    uploads.purge_stale_staging(max_age=timedelta(0))
    yield
    uploads.purge_stale_staging(max_age=timedelta(0))


@pytest.fixture
def asked():
    with time_machine.travel(ASKED, tick=False):
        return waiting(email="", postal_address="1 High Street", preferred_contact="phone")


def answer_data(complaint, **overrides) -> dict:
    data = {
        "answer-expected_revision": complaint.revision,
        "answer-how": "phone",
        "answer-received_at": "2027-01-14T11:00",
        "answer-text": "It was the Wycombe site, on the Tuesday morning.",
    }
    data.update(overrides)
    return data


def test_the_manager_records_a_phone_answer_and_the_clock_restarts_from_the_call(client, asked):
    due_before = asked.outcome_due
    with time_machine.travel(RECORDED, tick=False):
        client.force_login(asked.assignee)  # signed in then (a session lasts a working day)
        page = text_of(client.get(reverse("staff:case", args=[asked.reference])))
        assert "Record an answer they gave by phone, letter or in person" in page
        response = client.post(
            reverse("staff:case_record_answer", args=[asked.reference]),
            {**answer_data(asked), "answer-documents": [pdf("note-of-call.pdf")]},
        )

    assert response.status_code == 303, text_of(response)
    asked.refresh_from_db()
    assert asked.status == Status.INVESTIGATING
    assert asked.clock_stopped_at is None
    # Monday to Thursday: 3 business days waited (counted to the call, not to when it was typed in).
    assert asked.outcome_due == business_days.add_business_days(due_before, 3)
    request = asked.information_requests.get()
    assert (request.answer, request.answered_at) == ("It was the Wycombe site, on the Tuesday morning.", RANG)
    assert request.paused_business_days == 3
    client_entry = asked.events.get(kind=ComplaintEvent.Kind.CLIENT_REPLIED, client_visible=True)
    assert client_entry.summary.startswith(
        "You sent the information we asked for by phone; the investigation continues"
    )
    staff_entry = asked.events.get(kind=ComplaintEvent.Kind.CLIENT_REPLIED, client_visible=False)
    assert (staff_entry.summary, staff_entry.actor) == (
        "The client's answer by phone was recorded by staff",
        asked.assignee,
    )
    document = Attachment.objects.get(complaint=asked)
    assert (document.original_name, document.source, document.uploaded_by) == (
        "note-of-call.pdf",
        Attachment.Source.STAFF,
        asked.assignee,
    )
    # The manager took the call: nobody is emailed about an answer they recorded themselves.
    assert not OutboundMessage.objects.filter(kind="staff_client_reply").exists()


def test_the_client_sees_the_answer_on_their_page(client, asked):
    with time_machine.travel(RECORDED, tick=False):
        services.complaint_record_answer(
            actor=asked.assignee, complaint=asked, how="letter", text="Wycombe.", received_at=RANG
        )
        page = text_of(client.get(reverse("client:case", args=[links.client_token(asked)])))
    assert "You sent the information we asked for by letter" in page
    assert "Wycombe." in page


def test_an_empty_or_future_answer_is_refused_and_changes_nothing(client, asked):
    with time_machine.travel(RECORDED, tick=False):
        client.force_login(asked.assignee)
        empty = client.post(
            reverse("staff:case_record_answer", args=[asked.reference]), answer_data(asked, **{"answer-text": ""})
        )
        future = client.post(
            reverse("staff:case_record_answer", args=[asked.reference]),
            answer_data(asked, **{"answer-received_at": "2027-01-16T09:00"}),
        )
    assert empty.status_code == 400
    assert "Write down what the client told us." in text_of(empty)
    assert future.status_code == 400
    assert "The answer cannot have reached us in the future." in text_of(future)
    asked.refresh_from_db()
    assert asked.status == Status.AWAITING_CLIENT


def test_an_answer_dated_before_the_question_is_refused():
    with time_machine.travel(ASKED, tick=False):
        complaint = waiting()
    with time_machine.travel(RECORDED, tick=False), pytest.raises(ValidationError) as refusal:
        services.complaint_record_answer(
            actor=complaint.assignee,
            complaint=complaint,
            how="phone",
            text="Wycombe.",
            received_at=ASKED - timedelta(hours=1),
        )
    assert refusal.value.message_dict == {
        "received_at": ["The answer cannot have reached us before the question was asked."]
    }
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT


def test_only_someone_working_the_case_records_an_answer(asked):
    with time_machine.travel(RECORDED, tick=False), pytest.raises(PermissionDenied):
        services.complaint_record_answer(
            actor=manager(), complaint=asked, how="phone", text="Wycombe.", received_at=RANG
        )
    asked.refresh_from_db()
    assert asked.status == Status.AWAITING_CLIENT


def test_no_answer_can_be_recorded_when_nothing_was_asked(client):
    with time_machine.travel(ASKED, tick=False):
        complaint = waiting()
        services.client_write(complaint=complaint, text="Wycombe.")  # answered on their page meanwhile
        complaint.refresh_from_db()
        client.force_login(complaint.assignee)
        page = text_of(client.get(reverse("staff:case", args=[complaint.reference])))
        assert "Record an answer they gave by phone" not in page
        with pytest.raises(ValidationError):
            services.complaint_record_answer(
                actor=complaint.assignee, complaint=complaint, how="phone", text="Again.", received_at=ASKED
            )
    assert complaint.information_requests.get().answer == "Wycombe."
