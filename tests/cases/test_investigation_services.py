"""The investigation workflows: each transition locked, permission-checked and recorded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from cases import services
from cases.models import Action, Complaint, ComplaintEvent, TransitionNotAllowed
from notifications.models import OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, ComplaintFactory, lead, manager

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.django_db


def investigating(**kwargs) -> Complaint:
    complaint = AcknowledgedComplaintFactory(**kwargs)
    return services.complaint_start_investigation(actor=kwargs.get("assignee") or lead(), complaint=complaint)


def test_manager_starting_an_unassigned_case_takes_it_on():
    worker = manager()
    complaint = AcknowledgedComplaintFactory()
    started = services.complaint_start_investigation(actor=worker, complaint=complaint)
    assert started.status == Complaint.Status.INVESTIGATING
    assert started.assignee == worker
    event = started.events.get(kind=ComplaintEvent.Kind.INVESTIGATION_STARTED)
    assert event.client_visible
    assert (event.from_status, event.to_status) == ("acknowledged", "investigating")


def test_manager_cannot_touch_a_case_assigned_to_someone_else():
    complaint = AcknowledgedComplaintFactory(assignee=manager())
    with pytest.raises(PermissionDenied):
        services.complaint_start_investigation(actor=manager(), complaint=complaint)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert not complaint.events.exists()


def test_illegal_transition_is_refused_with_a_clear_message_and_changes_nothing():
    complaint = ComplaintFactory()  # still "received": not acknowledged yet
    with pytest.raises(TransitionNotAllowed, match="is received; it cannot become under investigation"):
        services.complaint_start_investigation(actor=lead(), complaint=complaint)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RECEIVED
    assert complaint.revision == 0


def test_stale_form_is_refused_and_nothing_is_saved():
    worker = lead()
    complaint = investigating(assignee=worker)
    seen_revision = complaint.revision
    services.complaint_categorise(actor=worker, complaint=complaint, category=None, expected_revision=seen_revision)
    with pytest.raises(services.StaleCase, match="changed by someone else"):
        services.complaint_request_information(
            actor=worker, complaint=complaint, message="Which server?", expected_revision=seen_revision
        )
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    assert not complaint.information_requests.exists()


def test_only_leads_assign_but_managers_may_pick_up_unassigned_cases():
    worker, other = manager(), manager()
    complaint = AcknowledgedComplaintFactory()
    with pytest.raises(PermissionDenied):
        services.complaint_assign(actor=worker, complaint=complaint, assignee=other)
    picked = services.complaint_assign(actor=worker, complaint=complaint, assignee=worker)
    assert picked.assignee == worker
    reassigned = services.complaint_assign(actor=lead(), complaint=picked, assignee=other)
    assert reassigned.assignee == other
    assert OutboundMessage.objects.filter(kind="staff_assignment", to_email=other.email).count() == 1


def test_information_request_stops_the_clock_and_the_reply_moves_the_due_date():
    worker = manager()
    with time_machine.travel(dt.datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), tick=False):  # Monday
        complaint = AcknowledgedComplaintFactory(assignee=worker)
        complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
        due_before = complaint.outcome_due
        services.complaint_request_information(actor=worker, complaint=complaint, message="Which site was affected?")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.AWAITING_CLIENT
    assert complaint.current_due_date is None  # no deadline runs while we wait
    assert OutboundMessage.objects.filter(kind="information_request", complaint=complaint).count() == 1

    with time_machine.travel(dt.datetime(2027, 1, 14, 11, 0, tzinfo=LONDON), tick=False):  # Thursday
        request = services.complaint_client_reply(complaint=complaint, text="The Wycombe office.")
    complaint.refresh_from_db()
    assert request.paused_business_days == 3  # Tue, Wed, Thu
    assert complaint.status == Complaint.Status.INVESTIGATING
    assert complaint.outcome_due == services.business_days.add_business_days(due_before, 3)
    assert complaint.events.filter(kind=ComplaintEvent.Kind.CLIENT_REPLIED, client_visible=True).exists()
    assert OutboundMessage.objects.filter(kind="staff_client_reply", to_email=worker.email).count() == 1


def test_reply_on_the_day_of_the_request_moves_nothing():
    worker = manager()
    with time_machine.travel(dt.datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), tick=False):
        complaint = investigating(assignee=worker)
        due = complaint.outcome_due
        services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")
        services.complaint_client_reply(complaint=complaint, text="Wycombe")
    complaint.refresh_from_db()
    assert complaint.outcome_due == due


def test_client_cannot_reply_when_nothing_was_asked():
    complaint = investigating()
    with pytest.raises(ValidationError, match="not waiting for information"):
        services.complaint_client_reply(complaint=complaint, text="Hello")


def test_notes_are_internal_and_cannot_be_empty():
    worker = lead()
    complaint = investigating(assignee=worker)
    with pytest.raises(ValidationError):
        services.complaint_add_note(actor=worker, complaint=complaint, text="   ")
    services.complaint_add_note(actor=worker, complaint=complaint, text="Called the client; they were helpful.")
    event = complaint.events.get(kind=ComplaintEvent.Kind.NOTE_ADDED)
    assert not event.client_visible
    assert "helpful" not in event.summary


def test_outcome_requires_reasons_when_not_upheld():
    worker = lead()
    complaint = investigating(assignee=worker)
    with pytest.raises(ValidationError) as error:
        services.complaint_issue_outcome(
            actor=worker, complaint=complaint, outcome="not_upheld", findings="The engineer arrived on time."
        )
    assert "reasons" in error.value.message_dict
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING


def test_upheld_outcome_requires_at_least_one_action():
    worker = lead()
    complaint = investigating(assignee=worker)
    with pytest.raises(ValidationError) as error:
        services.complaint_issue_outcome(actor=worker, complaint=complaint, outcome="upheld", findings="We were late.")
    assert "actions" in error.value.message_dict


def test_action_due_in_the_past_is_refused():
    worker = lead()
    complaint = investigating(assignee=worker)
    past = services.ActionSpec(kind="put_right", description="Refund", owner=worker, due_date=dt.date(2020, 1, 1))
    with pytest.raises(ValidationError, match="cannot be in the past"):
        services.complaint_issue_outcome(
            actor=worker, complaint=complaint, outcome="upheld", findings="We were late.", actions=[past]
        )
    assert not Action.objects.exists()


def test_mark_action_done_by_owner_or_lead_only():
    owner, stranger = manager(), manager()
    complaint = investigating()
    action = Action.objects.create(
        complaint=complaint, kind="put_right", description="Refund", owner=owner, due_date=dt.date(2030, 1, 1)
    )
    with pytest.raises(PermissionDenied):
        services.action_mark_done(actor=stranger, action=action)
    done = services.action_mark_done(actor=owner, action=action)
    assert done.is_done
    with pytest.raises(ValidationError, match="already"):
        services.action_mark_done(actor=lead(), action=action)
