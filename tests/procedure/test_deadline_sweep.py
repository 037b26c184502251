"""The deadline sweep: reminders, escalations, overdue actions and closures, each exactly once."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
import time_machine
from django.db import connection

from appeals.models import Appeal
from cases.models import Action, Complaint, ComplaintEvent, Deadline
from notifications import services as outbox
from notifications.models import OutboundMessage, WebhookEndpoint
from procedure.models import DeadlineNotice, SweepLock
from procedure.sweep import daily_work_due, deadlines_sweep
from tests.factories import AcknowledgedComplaintFactory, ComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
# Tuesday 1 December 2026: an ordinary business day.
TUESDAY_9AM = dt.datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
Kind = DeadlineNotice.Kind


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def messages(kind: str) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind=kind).order_by("to_email"))


def sweep(moment: dt.datetime):
    with at(moment):
        return deadlines_sweep()


# --- When the morning work runs --------------------------------------------------------------------


def test_morning_work_runs_from_eight_oclock_london_time_on_business_days_only():
    assert not daily_work_due(dt.datetime(2026, 12, 1, 7, 59, tzinfo=LONDON))
    assert daily_work_due(dt.datetime(2026, 12, 1, 8, 0, tzinfo=LONDON))
    assert not daily_work_due(dt.datetime(2026, 12, 5, 9, 0, tzinfo=LONDON))  # Saturday
    assert not daily_work_due(dt.datetime(2026, 12, 25, 9, 0, tzinfo=LONDON))  # Christmas Day
    # British Summer Time: 08:00 London is 07:00 UTC.
    assert daily_work_due(dt.datetime(2027, 4, 1, 7, 0, tzinfo=dt.UTC))
    assert not daily_work_due(dt.datetime(2027, 4, 1, 6, 59, tzinfo=dt.UTC))


# --- Reminders ---------------------------------------------------------------------------------------


def test_the_assignee_is_reminded_one_business_day_before_the_outcome_is_due():
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker, status=Complaint.Status.INVESTIGATING)
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 12, 2))

    report = sweep(TUESDAY_9AM)

    assert report.reminders == 1
    (message,) = messages("staff_deadline_reminder")
    assert message.to_email == worker.email
    notice = DeadlineNotice.objects.get()
    assert (notice.kind, notice.deadline, notice.due_date) == (Kind.REMINDER, Deadline.OUTCOME, dt.date(2026, 12, 2))
    assert complaint.events.filter(kind=ComplaintEvent.Kind.REMINDER_SENT, client_visible=False).exists()


def test_the_leads_are_reminded_when_nobody_is_assigned():
    leads = [lead(), lead()]
    ComplaintFactory(received_at=dt.datetime(2026, 11, 27, 10, tzinfo=LONDON), acknowledgement_due=dt.date(2026, 12, 2))

    sweep(TUESDAY_9AM)

    assert sorted(m.to_email for m in messages("staff_deadline_reminder")) == sorted(u.email for u in leads)


def test_no_reminder_before_eight_or_at_the_weekend():
    ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 2))
    lead()

    sweep(dt.datetime(2026, 12, 1, 7, 45, tzinfo=LONDON))
    sweep(dt.datetime(2026, 11, 28, 9, 0, tzinfo=LONDON))  # Saturday

    assert messages("staff_deadline_reminder") == []


def test_a_reminder_is_sent_once_however_often_the_sweep_runs():
    lead()
    ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 2))

    sweep(TUESDAY_9AM)
    sweep(TUESDAY_9AM + dt.timedelta(minutes=15))
    sweep(TUESDAY_9AM + dt.timedelta(hours=3))

    assert len(messages("staff_deadline_reminder")) == 1
    assert DeadlineNotice.objects.count() == 1
    assert SweepLock.objects.get(name="deadlines").daily_work_done_for == dt.date(2026, 12, 1)


def test_directors_are_reminded_of_an_appeal_decision_due_tomorrow(appeal_factory):
    boss = director()
    appeal = appeal_factory(status=Appeal.Status.UNDER_REVIEW, decision_due=dt.date(2026, 12, 2))

    sweep(TUESDAY_9AM)

    (message,) = messages("staff_deadline_reminder")
    assert message.to_email == boss.email
    assert message.complaint_id == appeal.complaint_id
    assert DeadlineNotice.objects.get().deadline == Deadline.APPEAL_DECISION


# --- Escalations -----------------------------------------------------------------------------------


def test_a_missed_acknowledgement_is_escalated_to_the_leads_on_the_first_run_after_it_passes():
    leads = [lead(), lead()]
    complaint = ComplaintFactory(acknowledgement_due=dt.date(2026, 11, 30))

    first = sweep(dt.datetime(2026, 12, 1, 0, 5, tzinfo=LONDON))
    again = sweep(dt.datetime(2026, 12, 1, 9, 0, tzinfo=LONDON))

    assert first.escalations == 1
    assert again.escalations == 0
    assert sorted(m.to_email for m in messages("staff_deadline_escalation")) == sorted(u.email for u in leads)
    assert complaint.events.filter(kind=ComplaintEvent.Kind.ESCALATED).count() == 1


def test_nothing_is_escalated_on_the_due_date_itself():
    lead()
    ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 1))

    sweep(dt.datetime(2026, 12, 1, 23, 50, tzinfo=LONDON))

    assert messages("staff_deadline_escalation") == []


def test_a_paused_investigation_is_not_escalated():
    lead()
    AcknowledgedComplaintFactory(status=Complaint.Status.AWAITING_CLIENT, outcome_due=dt.date(2026, 11, 20))

    sweep(TUESDAY_9AM)

    assert messages("staff_deadline_escalation") == []


def test_a_missed_appeal_decision_is_escalated_to_the_director_and_the_leads(appeal_factory):
    boss, chief = director(), lead()
    appeal_factory(status=Appeal.Status.ACKNOWLEDGED, decision_due=dt.date(2026, 11, 27))

    sweep(TUESDAY_9AM)

    assert sorted(m.to_email for m in messages("staff_deadline_escalation")) == sorted([boss.email, chief.email])


def test_a_new_due_date_gets_its_own_escalation():
    lead()
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.INVESTIGATING, outcome_due=dt.date(2026, 11, 27))
    sweep(TUESDAY_9AM)
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 12, 3))

    sweep(dt.datetime(2026, 12, 4, 9, 0, tzinfo=LONDON))

    dates = sorted(DeadlineNotice.objects.filter(kind=Kind.ESCALATION).values_list("due_date", flat=True))
    assert dates == [dt.date(2026, 11, 27), dt.date(2026, 12, 3)]


def test_each_escalation_is_a_deadline_breached_webhook_for_the_endpoints_that_want_it_once(appeal_factory):
    """Posting it is the outbox's (tests/webhooks); here: one delivery per escalation, keyed by its timeline entry."""
    lead()
    director()
    wants = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook", events=["deadline.breached"])
    WebhookEndpoint.objects.create(name="Desk", url="https://desk.example/hook", events=["complaint.received"])
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.INVESTIGATING, outcome_due=dt.date(2026, 11, 27))
    appeal = appeal_factory(status=Appeal.Status.ACKNOWLEDGED, decision_due=dt.date(2026, 11, 26))

    report = sweep(TUESDAY_9AM)
    sweep(dt.datetime(2026, 12, 1, 9, 15, tzinfo=LONDON))  # a second run: nothing new

    assert report.escalations == 2
    assert report.messages_queued == len(messages("staff_deadline_escalation"))  # emails only, as before
    rows = OutboundMessage.objects.filter(endpoint__isnull=False).order_by("pk")
    assert [(row.endpoint, row.kind) for row in rows] == [(wants, "deadline.breached")] * 2
    bodies = {row.context["event"]["complaint"]["reference"]: row.context["event"] for row in rows}
    ours = bodies[complaint.reference]
    assert ours["deadline"] == {"name": "outcome", "label": Deadline.OUTCOME.label, "due_date": "2026-11-27"}
    assert ours["complaint"] == {
        "id": str(complaint.public_id),
        "reference": complaint.reference,
        "status": "investigating",
    }
    assert ComplaintEvent.objects.get(pk=ours["id"]).kind == ComplaintEvent.Kind.ESCALATED
    theirs = bodies[appeal.complaint.reference]
    assert theirs["deadline"]["name"] == "appeal_decision"
    assert theirs["appeal"] == {"status": "acknowledged"}


# --- Overdue actions and closures -----------------------------------------------------------------------


def test_the_owner_of_an_overdue_action_is_reminded_once():
    owner = manager()
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.RESPONDED)
    Action.objects.create(
        complaint=complaint, kind="put_right", description="Refund", owner=owner, due_date=dt.date(2026, 11, 30)
    )
    Action.objects.create(
        complaint=complaint,
        kind="put_right",
        description="Done already",
        owner=owner,
        due_date=dt.date(2026, 11, 30),
        done_at=dt.datetime(2026, 11, 29, tzinfo=LONDON),
    )

    sweep(TUESDAY_9AM)
    sweep(dt.datetime(2026, 12, 2, 9, 0, tzinfo=LONDON))

    (message,) = messages("staff_action_overdue")
    assert message.to_email == owner.email


def test_a_complaint_is_closed_when_its_appeal_window_ends_with_no_appeal_and_the_client_is_told():
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.RESPONDED, appeal_deadline=dt.date(2026, 11, 30))
    still_open = AcknowledgedComplaintFactory(status=Complaint.Status.RESPONDED, appeal_deadline=dt.date(2026, 12, 1))

    report = sweep(TUESDAY_9AM)
    sweep(TUESDAY_9AM + dt.timedelta(minutes=15))

    assert report.closures == 1
    complaint.refresh_from_db()
    still_open.refresh_from_db()
    assert complaint.status == Complaint.Status.CLOSED
    assert still_open.status == Complaint.Status.RESPONDED
    (message,) = messages("complaint_closed")
    assert message.to_email == complaint.email
    assert complaint.events.get(kind=ComplaintEvent.Kind.CLOSED).client_visible
    outbox.message_deliver(message.pk)
    message.refresh_from_db()
    assert complaint.reference in message.subject
    assert "Monday 30 November 2026" in message.body_text


def test_a_complaint_under_appeal_is_not_closed(appeal_factory):
    appeal = appeal_factory(status=Appeal.Status.ACKNOWLEDGED, decision_due=dt.date(2026, 12, 20))
    Complaint.objects.filter(pk=appeal.complaint_id).update(appeal_deadline=dt.date(2026, 11, 1))

    sweep(TUESDAY_9AM)

    assert Complaint.objects.get(pk=appeal.complaint_id).status == Complaint.Status.UNDER_APPEAL


# --- Catching up after an outage ------------------------------------------------------------------


def test_after_beat_was_down_for_days_the_first_run_catches_up_without_doubles():
    lead()
    # Due Tuesday (reminder should have gone Monday) and due Wednesday; beat down Mon 07:00 - Tue 10:00.
    due_tuesday = ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 1))
    due_wednesday = ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 2))
    overdue = ComplaintFactory(acknowledgement_due=dt.date(2026, 11, 27))

    sweep(dt.datetime(2026, 12, 1, 10, 0, tzinfo=LONDON))
    sweep(dt.datetime(2026, 12, 1, 10, 15, tzinfo=LONDON))

    reminded = set(DeadlineNotice.objects.filter(kind=Kind.REMINDER).values_list("complaint_id", flat=True))
    escalated = set(DeadlineNotice.objects.filter(kind=Kind.ESCALATION).values_list("complaint_id", flat=True))
    assert reminded == {due_tuesday.pk, due_wednesday.pk}
    assert escalated == {overdue.pk}
    assert OutboundMessage.objects.filter(kind__startswith="staff_deadline").count() == 3


# --- Delivery -----------------------------------------------------------------------------------------


def test_the_reminder_email_names_the_reference_the_deadline_and_links_to_the_case():
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker, status=Complaint.Status.INVESTIGATING)
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 12, 2))
    sweep(TUESDAY_9AM)
    (message,) = messages("staff_deadline_reminder")

    with at(TUESDAY_9AM):
        assert outbox.message_deliver(message.pk) == "sent"

    message.refresh_from_db()
    assert complaint.reference in message.subject
    assert "written outcome" in message.subject
    assert "Wednesday 2 December 2026" in message.body_text
    assert f"/staff/complaints/{complaint.reference}/" in message.body_text
    assert complaint.description[:30] not in message.body_text


def test_the_sweep_queries_do_not_grow_with_the_number_of_due_cases(django_assert_max_num_queries):
    lead()
    director()
    for day in (dt.date(2026, 11, 27), dt.date(2026, 12, 2)):
        for _ in range(15):
            ComplaintFactory(acknowledgement_due=day)

    # 31 at most: one of them reads the webhook endpoints (then kept a minute in the cache).
    with at(TUESDAY_9AM), django_assert_max_num_queries(31):
        report = deadlines_sweep()

    assert report.escalations == 15
    assert report.reminders == 15


# --- Concurrency (PostgreSQL) -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_notice_once():
    lead()
    lead()
    for _ in range(20):
        ComplaintFactory(acknowledgement_due=dt.date(2026, 11, 27))
        ComplaintFactory(acknowledgement_due=dt.date(2026, 12, 2))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            deadlines_sweep(now=TUESDAY_9AM)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert DeadlineNotice.objects.filter(kind=Kind.ESCALATION).count() == 20
    assert DeadlineNotice.objects.filter(kind=Kind.REMINDER).count() == 20
    assert OutboundMessage.objects.filter(kind="staff_deadline_escalation").count() == 40
    assert OutboundMessage.objects.filter(kind="staff_deadline_reminder").count() == 40


def test_a_sweep_that_dies_mid_run_leaves_nothing_half_done_and_the_next_run_sends_everything(monkeypatch):
    lead()
    complaint = ComplaintFactory(acknowledgement_due=dt.date(2026, 11, 27))
    real_bulk_create = OutboundMessage.objects.bulk_create

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(OutboundMessage.objects, "bulk_create", die)
    with pytest.raises(SystemExit):
        sweep(TUESDAY_9AM)
    assert not DeadlineNotice.objects.exists()
    assert not complaint.events.filter(kind=ComplaintEvent.Kind.ESCALATED).exists()

    monkeypatch.setattr(OutboundMessage.objects, "bulk_create", real_bulk_create)
    report = sweep(TUESDAY_9AM + dt.timedelta(minutes=15))

    assert report.escalations == 1
    assert len(messages("staff_deadline_escalation")) == 1
