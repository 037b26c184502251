"""Deadline extensions: a complaints lead moves a due date on before it passes; the client is told why."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from appeals.models import Appeal
from cases import services
from cases.models import Complaint, ComplaintEvent, Deadline, Extension
from notifications import services as outbox
from notifications.models import OutboundMessage
from procedure.models import DeadlineNotice
from procedure.sweep import deadlines_sweep
from tests.factories import AcknowledgedComplaintFactory, ComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
MONDAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)
REASON = "The engineer who did the work is on leave until 7 December and we must speak to him."


def investigating(**kwargs) -> Complaint:
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.INVESTIGATING, **kwargs)
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 12, 2))
    complaint.refresh_from_db()
    return complaint


def extend(complaint, actor=None, new_date=dt.date(2026, 12, 9), reason=REASON, **kwargs):
    with time_machine.travel(MONDAY, tick=False):
        return services.complaint_extend_deadline(
            actor=actor or lead(), complaint=complaint, new_date=new_date, reason=reason, **kwargs
        )


def test_a_lead_extends_the_outcome_due_date_and_everything_is_kept():
    chief = lead()
    complaint = investigating()

    extension = extend(complaint, chief)

    complaint.refresh_from_db()
    assert complaint.outcome_due == dt.date(2026, 12, 9)
    assert (extension.old_date, extension.new_date, extension.deadline) == (
        dt.date(2026, 12, 2),
        dt.date(2026, 12, 9),
        Deadline.OUTCOME,
    )
    assert extension.extended_by == chief
    assert extension.reason == REASON
    event = complaint.events.get(kind=ComplaintEvent.Kind.DEADLINE_EXTENDED)
    assert event.client_visible
    assert "2 December 2026 to 9 December 2026" in event.summary


def test_the_client_is_emailed_the_reason_and_the_new_date_once():
    complaint = investigating()
    extension = extend(complaint)

    message = OutboundMessage.objects.get(kind="deadline_extension")
    assert message.dedupe_key == extension.notice_key
    assert outbox.message_deliver(message.pk) == "sent"
    assert outbox.message_deliver(message.pk) == "already-sent"
    message.refresh_from_db()
    assert complaint.reference in message.subject
    assert "Wednesday 9 December 2026" in message.body_text
    assert "Wednesday 2 December 2026" in message.body_text
    assert REASON in message.body_text


def test_a_client_without_email_is_told_by_staff_and_the_timeline_says_so():
    complaint = investigating(email="")

    extension = extend(complaint)

    assert extension.notice_key == ""
    assert not OutboundMessage.objects.filter(kind="deadline_extension").exists()
    assert "tell them by phone or post" in complaint.events.get(kind=ComplaintEvent.Kind.DEADLINE_EXTENDED).summary


def test_only_a_lead_may_extend():
    worker = manager()
    complaint = investigating(assignee=worker)

    with pytest.raises(PermissionDenied):
        extend(complaint, worker)

    complaint.refresh_from_db()
    assert complaint.outcome_due == dt.date(2026, 12, 2)
    assert not Extension.objects.exists()


def test_a_deadline_that_has_passed_cannot_be_extended():
    complaint = investigating()
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 11, 27))

    with pytest.raises(ValidationError, match="can only be extended before it is missed"):
        extend(complaint)

    assert not Extension.objects.exists()


def test_the_due_date_itself_is_still_in_time():
    complaint = investigating()
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 11, 30))

    assert extend(complaint).old_date == dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("new_date", "message"),
    [
        (dt.date(2026, 12, 1), "after the current due date"),
        (dt.date(2026, 12, 2), "after the current due date"),
        (dt.date(2026, 12, 5), "not a business day"),
        (dt.date(2026, 12, 25), "not a business day"),
    ],
)
def test_the_new_date_must_be_a_later_business_day(new_date, message):
    complaint = investigating()

    with pytest.raises(ValidationError, match=message):
        extend(complaint, new_date=new_date)


def test_a_reason_is_required():
    complaint = investigating()

    with pytest.raises(ValidationError) as error:
        extend(complaint, reason="  ")

    assert "reason" in error.value.message_dict


def test_the_acknowledgement_of_a_received_complaint_can_be_extended():
    complaint = ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 1))

    extension = extend(complaint, new_date=dt.date(2026, 12, 3))

    assert extension.deadline == Deadline.ACKNOWLEDGEMENT
    complaint.refresh_from_db()
    assert complaint.acknowledgement_due == dt.date(2026, 12, 3)


def test_an_appeal_decision_can_be_extended(appeal_factory):
    appeal = appeal_factory(status=Appeal.Status.UNDER_REVIEW, decision_due=dt.date(2026, 12, 2))

    extension = extend(appeal.complaint)

    appeal.refresh_from_db()
    assert extension.deadline == Deadline.APPEAL_DECISION
    assert appeal.decision_due == dt.date(2026, 12, 9)


def test_a_responded_complaint_has_no_deadline_to_extend():
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.RESPONDED)

    with pytest.raises(ValidationError, match="no deadline running"):
        extend(complaint)


def test_a_stale_form_is_refused():
    complaint = investigating()

    with pytest.raises(services.StaleCase):
        extend(complaint, expected_revision=complaint.revision + 1)


def test_reminders_and_escalations_follow_the_new_date():
    lead()
    complaint = investigating()
    extend(complaint)

    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=LONDON), tick=False):
        deadlines_sweep()  # would have reminded of 2 December
    with time_machine.travel(dt.datetime(2026, 12, 3, 9, 0, tzinfo=LONDON), tick=False):
        deadlines_sweep()  # would have escalated 2 December
    with time_machine.travel(dt.datetime(2026, 12, 8, 9, 0, tzinfo=LONDON), tick=False):
        deadlines_sweep()

    notices = list(DeadlineNotice.objects.values_list("kind", "due_date"))
    assert notices == [(DeadlineNotice.Kind.REMINDER, dt.date(2026, 12, 9))]
