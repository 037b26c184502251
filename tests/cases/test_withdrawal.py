"""Withdrawal: the client withdraws on their page or a lead records it; every deadline stops; a lead may
reopen a withdrawal made by mistake within 20 business days, its due date moved on as after a pause."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import links, services
from cases.models import Complaint, ComplaintEvent, InformationRequest
from notifications.models import OutboundMessage
from notifications.services import message_deliver
from procedure.models import DeadlineNotice
from procedure.sweep import deadlines_sweep
from reports import selectors
from reports.selectors import Filters, Period
from tests.factories import AcknowledgedComplaintFactory, ComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
Status = Complaint.Status
Event = ComplaintEvent.Kind
# Monday 7 December 2026, 10:00 London: an ordinary business day.
MONDAY = dt.datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def investigating(worker=None, outcome_due=dt.date(2026, 12, 15)) -> Complaint:
    worker = worker or manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=outcome_due)
    complaint.refresh_from_db()
    return complaint


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def withdrawal_emails(complaint) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(complaint=complaint, kind="complaint_withdrawn"))


# --- The client withdraws -----------------------------------------------------------------------------------


def test_the_client_confirms_then_withdraws_and_is_emailed_a_confirmation(client):
    complaint = investigating()
    token = links.client_token(complaint)
    page = client.get(reverse("client:case", args=[token]))
    assert "Withdraw my complaint" in text_of(page)

    confirm = client.get(reverse("client:withdraw", args=[token]))
    assert confirm.status_code == 200
    assert "Do you want to withdraw your complaint?" in text_of(confirm)
    assert confirm["Referrer-Policy"] == "same-origin"
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING  # looking at the page changes nothing

    done = client.post(reverse("client:withdraw", args=[token]), {"reason": "Sorted out with the engineer."})

    assert done.status_code == 303
    complaint.refresh_from_db()
    assert complaint.status == Status.WITHDRAWN
    assert complaint.withdrawn_from == Status.INVESTIGATING
    assert complaint.withdrawal_reason == "Sorted out with the engineer."
    assert complaint.withdrawn_at == MONDAY
    event = complaint.events.get(kind=Event.WITHDRAWN, to_status=Status.WITHDRAWN)
    assert (event.summary, event.client_visible, event.actor_id) == ("You withdrew your complaint", True, None)
    shown = text_of(client.get(done["Location"]))
    assert "Your complaint is withdrawn" in shown
    assert "Withdraw my complaint" not in shown
    [email] = withdrawal_emails(complaint)
    assert message_deliver(email.pk) == "sent"
    email.refresh_from_db()
    assert email.subject == f"Your complaint {complaint.reference} has been withdrawn"
    # 20 business days after Monday 7 December 2026: Christmas, Boxing Day's substitute and New Year skipped.
    assert "by Thursday 7 January 2027" in email.body_text


def test_withdrawing_while_we_wait_for_the_client_ends_the_question():
    worker = manager()
    complaint = investigating(worker)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")

    services.complaint_withdraw(complaint=complaint)

    complaint.refresh_from_db()
    assert complaint.status == Status.WITHDRAWN
    assert complaint.withdrawn_from == Status.INVESTIGATING  # a reopening does not bring the question back
    request = InformationRequest.objects.get(complaint=complaint)
    assert request.answered_at is not None
    assert request.answer == "(the complaint was withdrawn)"


@pytest.mark.parametrize("status", [Status.RESPONDED, Status.CLOSED, Status.UNDER_APPEAL, Status.WITHDRAWN])
def test_after_the_outcome_it_cannot_be_withdrawn(client, status):
    complaint = AcknowledgedComplaintFactory(status=status)
    with pytest.raises(ValidationError, match="can be withdrawn only before our written outcome"):
        services.complaint_withdraw(complaint=complaint)
    token = links.client_token(complaint)
    assert "Withdraw my complaint" not in text_of(client.get(reverse("client:case", args=[token])))
    refused = client.post(reverse("client:withdraw", args=[token]), {})
    assert refused.status_code == 303
    assert "it cannot be withdrawn" in text_of(client.get(refused["Location"]))
    complaint.refresh_from_db()
    assert complaint.status == status


def test_a_forged_link_cannot_withdraw(client):
    investigating()
    assert client.post(reverse("client:withdraw", args=["forged"])).status_code == 404
    assert not Complaint.objects.filter(status=Status.WITHDRAWN).exists()


def test_no_reminder_or_escalation_fires_for_a_withdrawn_complaint():
    lead()
    worker = manager()
    due_tomorrow = investigating(worker, outcome_due=dt.date(2026, 12, 8))
    overdue = investigating(worker, outcome_due=dt.date(2026, 12, 1))
    services.complaint_withdraw(complaint=due_tomorrow)
    services.complaint_withdraw(complaint=overdue)

    report = deadlines_sweep()

    assert (report.reminders, report.escalations) == (0, 0)
    assert not DeadlineNotice.objects.exists()


def test_reports_count_a_withdrawal_as_withdrawn_not_as_answered():
    complaint = investigating()
    ComplaintFactory()  # another complaint, still open
    services.complaint_withdraw(complaint=complaint)
    month = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "2026")

    figures = selectors.report(month, Filters(), MONDAY.date(), use_summary=False)

    assert figures.withdrawn == 1
    assert figures.responded == 0
    assert list(selectors.cases_for_figure(month, Filters(), "withdrawn", MONDAY.date())) == [complaint]


# --- A lead records a withdrawal made by phone or letter ------------------------------------------------------


def test_a_lead_records_a_withdrawal_by_phone_with_a_note(client):
    the_lead = lead()
    complaint = investigating()
    client.force_login(the_lead)
    response = client.post(
        reverse("staff:case_withdraw", args=[complaint.reference]),
        {"withdraw-expected_revision": complaint.revision, "withdraw-reason": "Phone call, 7 Dec 09:40."},
    )
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.status == Status.WITHDRAWN
    recorded = complaint.events.get(kind=Event.WITHDRAWN, to_status="")
    assert (recorded.actor, recorded.client_visible) == (the_lead, False)
    assert recorded.summary == "Withdrawal recorded: Phone call, 7 Dec 09:40."
    assert len(withdrawal_emails(complaint)) == 1
    page = text_of(client.get(reverse("staff:case", args=[complaint.reference])))
    assert "Withdrawn on Mon 7 Dec 2026, 10:00: a lead can reopen it until Thu 7 Jan 2027" in page


def test_recording_a_withdrawal_needs_a_lead_and_a_note():
    complaint = investigating()
    with pytest.raises(PermissionDenied):
        services.complaint_withdraw(complaint=complaint, actor=complaint.assignee, reason="By phone")
    with pytest.raises(ValidationError, match="Say how the client withdrew"):
        services.complaint_withdraw(complaint=complaint, actor=lead(), reason="  ")
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING


# --- Reopening a withdrawal made by mistake --------------------------------------------------------------------


def test_a_lead_reopens_within_the_time_and_the_due_date_moves_on_by_the_days_withdrawn():
    the_lead = lead()
    complaint = investigating(outcome_due=dt.date(2026, 12, 15))
    services.complaint_withdraw(complaint=complaint)

    # Monday 14 December: five business days later.
    with time_machine.travel(dt.datetime(2026, 12, 14, 11, 0, tzinfo=LONDON), tick=False):
        services.complaint_reopen(actor=the_lead, complaint=complaint, reason="The client called back: a mistake.")

    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.outcome_due == dt.date(2026, 12, 22)  # 15 December + 5 business days
    assert (complaint.withdrawn_at, complaint.withdrawn_from, complaint.clock_stopped_at) == (None, "", None)
    shown = complaint.events.get(kind=Event.REOPENED, client_visible=True)
    assert shown.summary == "We reopened your complaint; our written outcome is now due 22 December 2026"
    staff_only = complaint.events.get(kind=Event.REOPENED, client_visible=False)
    assert staff_only.summary == "Withdrawal reopened after 5 business days: The client called back: a mistake."


def test_a_withdrawal_before_the_acknowledgement_reopens_with_its_acknowledgement_due_moved_on():
    complaint = ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 9))
    services.complaint_withdraw(complaint=complaint)
    with time_machine.travel(dt.datetime(2026, 12, 8, 11, 0, tzinfo=LONDON), tick=False):
        services.complaint_reopen(actor=lead(), complaint=complaint, reason="Mistake.")
    complaint.refresh_from_db()
    assert complaint.status == Status.RECEIVED
    assert complaint.acknowledgement_due == dt.date(2026, 12, 10)


def test_after_twenty_business_days_it_cannot_be_reopened():
    complaint = investigating()
    services.complaint_withdraw(complaint=complaint)
    # Friday 8 January 2027: 21 business days after Monday 7 December 2026.
    with time_machine.travel(dt.datetime(2027, 1, 8, 10, 0, tzinfo=LONDON), tick=False):
        assert not services.may_reopen(complaint)
        with pytest.raises(ValidationError, match="more than 20 business days ago"):
            services.complaint_reopen(actor=lead(), complaint=complaint, reason="Too late?")
    complaint.refresh_from_db()
    assert complaint.status == Status.WITHDRAWN


def test_only_a_lead_reopens_and_says_why():
    complaint = investigating()
    services.complaint_withdraw(complaint=complaint)
    with pytest.raises(PermissionDenied):
        services.complaint_reopen(actor=complaint.assignee, complaint=complaint, reason="Mistake.")
    with pytest.raises(ValidationError, match="Say why"):
        services.complaint_reopen(actor=lead(), complaint=complaint, reason="")
    complaint.refresh_from_db()
    assert complaint.status == Status.WITHDRAWN


def test_the_reopen_form_shows_to_a_lead_only_while_it_may_be_reopened(client):
    the_lead = lead()
    complaint = investigating()
    services.complaint_withdraw(complaint=complaint)
    client.force_login(the_lead)
    assert "Reopen the withdrawal" in text_of(client.get(reverse("staff:case", args=[complaint.reference])))
    with time_machine.travel(dt.datetime(2027, 1, 8, 10, 0, tzinfo=LONDON), tick=False):
        client.force_login(the_lead)
        assert "Reopen the withdrawal" not in text_of(client.get(reverse("staff:case", args=[complaint.reference])))


def test_a_withdrawal_reopened_the_same_day_keeps_its_due_date():
    complaint = investigating(outcome_due=dt.date(2026, 12, 15))
    services.complaint_withdraw(complaint=complaint)
    services.complaint_reopen(actor=lead(), complaint=complaint, reason="Clicked by mistake.")
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.outcome_due == dt.date(2026, 12, 15)
    assert complaint.events.get(kind=Event.REOPENED, client_visible=False).summary.startswith(
        "Withdrawal reopened after 0 business days"
    )
