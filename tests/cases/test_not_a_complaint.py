"""A complaints lead closes a case that is not a complaint, from the case page (cases.services, cases.views.case)."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from cases import services
from cases.models import Complaint, InformationRequest
from notifications.models import OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db
Status = Complaint.Status


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def close(client, case, reason="A sales enquiry, not a complaint.", revision=None):
    case.refresh_from_db()
    return client.post(
        reverse("staff:case_close_not_a_complaint", args=[case.reference]),
        {
            "not_complaint-expected_revision": case.revision if revision is None else revision,
            "not_complaint-reason": reason,
        },
    )


@pytest.fixture
def boss(client):
    user = lead()
    client.force_login(user)
    return user


def test_a_lead_closes_a_case_as_not_a_complaint_with_the_reason(client, boss):
    case = AcknowledgedComplaintFactory()
    OutboundMessage.objects.all().delete()
    response = close(client, case)
    assert response.status_code == 303
    case.refresh_from_db()
    assert case.status == Status.NOT_A_COMPLAINT
    event = case.events.get(kind="not_a_complaint")
    assert (event.summary, event.actor, event.client_visible) == (
        "Closed as not a complaint. Reason: A sales enquiry, not a complaint.",
        boss,
        False,
    )
    assert not OutboundMessage.objects.filter(complaint=case).exists()  # the sender is not told
    page = text(client.get(response["Location"]))
    assert "Closed as not a complaint. It is left out of the complaint figures" in page
    assert "Closed: not a complaint" in page
    assert "Close as not a complaint" not in page  # no second time


def test_closing_ends_the_open_question_and_stops_the_clock(client, boss):
    worker = manager()
    case = AcknowledgedComplaintFactory(assignee=worker, status=Status.INVESTIGATING)
    services.complaint_request_information(actor=worker, complaint=case, message="Which site?")
    assert close(client, case).status_code == 303
    case.refresh_from_db()
    question = InformationRequest.objects.get(complaint=case)
    assert (case.status, case.clock_stopped_at, question.answered_at is not None) == (
        Status.NOT_A_COMPLAINT,
        None,
        True,
    )
    assert case.current_due_date is None


def test_the_reason_is_required_and_nothing_changes_without_it(client, boss):
    case = AcknowledgedComplaintFactory()
    response = close(client, case, reason="   ")
    assert response.status_code == 400
    assert "Say why this is not a complaint" in text(response)
    case.refresh_from_db()
    assert case.status == Status.ACKNOWLEDGED


def test_a_case_changed_meanwhile_is_not_closed(client, boss):
    case = AcknowledgedComplaintFactory()
    response = close(client, case, revision=case.revision + 1)
    assert response.status_code == 409
    assert "someone else changed this case" in text(response)
    case.refresh_from_db()
    assert case.status == Status.ACKNOWLEDGED


def test_a_closed_case_cannot_be_closed_as_not_a_complaint(client, boss):
    case = AcknowledgedComplaintFactory(status=Status.CLOSED)
    response = close(client, case)
    assert response.status_code == 409
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert not case.events.filter(kind="not_a_complaint").exists()


def test_a_manager_is_neither_offered_it_nor_allowed_it(client):
    worker = manager()
    case = AcknowledgedComplaintFactory(assignee=worker)
    client.force_login(worker)
    assert "Close as not a complaint" not in text(client.get(reverse("staff:case", args=[case.reference])))
    assert close(client, case).status_code == 403
    case.refresh_from_db()
    assert case.status == Status.ACKNOWLEDGED


def test_a_lead_is_offered_it_while_the_case_is_open(client, boss):
    case = AcknowledgedComplaintFactory()
    assert "Close as not a complaint" in text(client.get(reverse("staff:case", args=[case.reference])))
