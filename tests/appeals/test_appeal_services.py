"""Appeal workflows: lodging, logging, acknowledging and the Director's final decision."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from appeals import services
from appeals.models import Appeal
from cases import business_days
from cases.models import Action, Complaint, ComplaintEvent, TransitionNotAllowed
from cases.services import ActionSpec, StaleCase, complaint_add_note
from notifications.models import Letter, OutboundMessage
from tests.appeals.helpers import APPEAL_REASONS, deliver, in_days, last_mail_to, lodged, responded
from tests.factories import AcknowledgedComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
Event = ComplaintEvent.Kind


def decide(appeal, actor, **kwargs):
    values = {"decision": "original_decision_upheld", "reasons": "The investigation was thorough and fair."}
    values.update(kwargs)
    return services.appeal_decide(actor=actor, appeal=appeal, **values)


# --- Lodging from the client's page --------------------------------------------------------


def test_lodging_an_appeal_puts_the_complaint_under_appeal_with_an_acknowledgement_due_in_two_business_days():
    director(email="director@jpditservices.com")
    complaint = responded()

    appeal = services.appeal_lodge(complaint=complaint, reasons=APPEAL_REASONS)

    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.UNDER_APPEAL
    assert appeal.status == Appeal.Status.RECEIVED
    assert appeal.channel == Appeal.Channel.WEB
    assert appeal.acknowledgement_due == business_days.due_date(appeal.received_at, 2)
    event = complaint.events.get(kind=Event.APPEAL_RECEIVED)
    assert event.client_visible
    assert event.actor_label == "Client"
    assert event.to_status == Complaint.Status.UNDER_APPEAL
    kinds = set(OutboundMessage.objects.filter(complaint=complaint).values_list("kind", flat=True))
    assert {"appeal_acknowledgement", "staff_new_appeal"} <= kinds


def test_the_appeal_acknowledgement_acknowledges_the_appeal_and_gives_the_decision_due_date_once():
    appeal = lodged(send=False)

    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=LONDON), tick=False):
        first = deliver(kind="appeal_acknowledgement")
    again = deliver(kind="appeal_acknowledgement")

    appeal.refresh_from_db()
    assert len(first) == 1
    assert again == []
    assert appeal.status == Appeal.Status.ACKNOWLEDGED
    assert appeal.decision_due == business_days.add_business_days(dt.date(2026, 12, 1), 15)
    email = last_mail_to(appeal.complaint.email)
    assert appeal.reference in email.subject
    assert "Tuesday 22 December 2026" in email.body
    assert appeal.reference in email.alternatives[0][0]
    assert len([m for m in mail.outbox if m.subject == email.subject]) == 1


def test_directors_are_told_a_new_appeal_has_arrived_without_the_clients_words():
    boss = director(email="director@jpditservices.com")
    appeal = lodged(send=False)

    deliver(kind="staff_new_appeal")

    email = last_mail_to(boss.email)
    assert appeal.reference in email.subject
    assert f"/admin/appeals/appeal/{appeal.pk}/" in email.body
    assert APPEAL_REASONS not in email.body


def test_an_appeal_is_refused_before_the_outcome_and_changes_nothing():
    complaint = AcknowledgedComplaintFactory()

    with pytest.raises(ValidationError, match="no outcome to appeal against"):
        services.appeal_lodge(complaint=complaint, reasons=APPEAL_REASONS)

    assert not Appeal.objects.exists()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED


def test_an_appeal_needs_reasons():
    complaint = responded()

    with pytest.raises(ValidationError) as error:
        services.appeal_lodge(complaint=complaint, reasons="   ")

    assert "reasons" in error.value.message_dict
    assert not Appeal.objects.exists()


def test_an_appeal_after_the_window_is_refused_with_the_date_it_closed():
    complaint = responded()
    after = dt.datetime.combine(complaint.appeal_deadline + dt.timedelta(days=1), dt.time(9), tzinfo=LONDON)

    with time_machine.travel(after, tick=False), pytest.raises(ValidationError, match="time to appeal ended"):
        services.appeal_lodge(complaint=complaint, reasons=APPEAL_REASONS)

    assert not Appeal.objects.exists()


def test_an_appeal_on_the_last_day_of_the_window_is_accepted():
    complaint = responded()
    last_day = dt.datetime.combine(complaint.appeal_deadline, dt.time(23, 0), tzinfo=LONDON)

    with time_machine.travel(last_day, tick=False):
        appeal = services.appeal_lodge(complaint=complaint, reasons=APPEAL_REASONS)

    assert appeal.pk is not None


def test_only_one_appeal_per_complaint():
    appeal = lodged()

    with pytest.raises(ValidationError, match="already been made"):
        services.appeal_lodge(complaint=appeal.complaint, reasons="Again")

    assert Appeal.objects.count() == 1


# --- Logging an appeal that came by letter or email ----------------------------------------------


def test_a_lead_logs_a_letter_appeal_and_its_deadline_runs_from_the_real_time_of_receipt():
    complaint = responded()
    received = complaint.responded_at + dt.timedelta(hours=1)

    with time_machine.travel(received + dt.timedelta(days=2), tick=False):
        appeal = services.appeal_log(
            actor=lead(), complaint=complaint, channel="letter", received_at=received, reasons=APPEAL_REASONS
        )

    assert appeal.received_at == received
    assert appeal.acknowledgement_due == business_days.due_date(received, 2)
    assert appeal.logged_by is not None
    assert "by letter" in complaint.events.get(kind=Event.APPEAL_RECEIVED).summary


def test_a_late_appeal_needs_the_reason_it_was_accepted():
    complaint = responded()
    late = dt.datetime.combine(complaint.appeal_deadline + dt.timedelta(days=3), dt.time(10), tzinfo=LONDON)

    with time_machine.travel(late + dt.timedelta(hours=1), tick=False):
        with pytest.raises(ValidationError) as error:
            services.appeal_log(
                actor=lead(), complaint=complaint, channel="email", received_at=late, reasons=APPEAL_REASONS
            )
        assert "late_reason" in error.value.message_dict
        appeal = services.appeal_log(
            actor=lead(),
            complaint=complaint,
            channel="email",
            received_at=late,
            reasons=APPEAL_REASONS,
            late_reason="The client was in hospital when the outcome arrived.",
        )

    assert appeal.was_late
    assert appeal.late_reason.startswith("The client was in hospital")


def test_a_late_appeal_can_be_logged_on_a_complaint_closed_at_the_end_of_its_window():
    complaint = responded()
    Complaint.objects.filter(pk=complaint.pk).update(status=Complaint.Status.CLOSED)
    complaint.refresh_from_db()
    late = timezone.now()
    Complaint.objects.filter(pk=complaint.pk).update(appeal_deadline=business_days.london_today() - dt.timedelta(1))
    complaint.refresh_from_db()

    appeal = services.appeal_log(
        actor=lead(),
        complaint=complaint,
        channel="letter",
        received_at=late,
        reasons=APPEAL_REASONS,
        late_reason="Posted in time; delayed by the strike.",
    )

    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.UNDER_APPEAL
    assert appeal.status in (Appeal.Status.RECEIVED, Appeal.Status.ACKNOWLEDGED)


def test_a_logged_appeal_cannot_have_arrived_in_the_future():
    complaint = responded()

    with pytest.raises(ValidationError) as error:
        services.appeal_log(
            actor=lead(),
            complaint=complaint,
            channel="letter",
            received_at=timezone.now() + dt.timedelta(hours=2),
            reasons=APPEAL_REASONS,
        )

    assert "received_at" in error.value.message_dict
    assert not Appeal.objects.exists()


def test_a_manager_cannot_log_an_appeal():
    worker = manager()
    complaint = responded(worker)

    with pytest.raises(PermissionDenied):
        services.appeal_log(
            actor=worker, complaint=complaint, channel="letter", received_at=timezone.now(), reasons=APPEAL_REASONS
        )

    assert not Appeal.objects.exists()


def test_an_appeal_from_a_client_without_email_is_acknowledged_by_a_letter_to_post(
    django_capture_on_commit_callbacks,
):
    complaint = responded(email="")

    with django_capture_on_commit_callbacks(execute=True):  # the letter's PDF is stored once the logging commits
        appeal = services.appeal_log(
            actor=lead(), complaint=complaint, channel="letter", received_at=timezone.now(), reasons=APPEAL_REASONS
        )

    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED
    assert appeal.decision_due is not None
    letter = Letter.objects.get(complaint=complaint, kind="appeal_acknowledgement")
    assert letter.file.read(5) == b"%PDF-"
    assert not OutboundMessage.objects.filter(kind="appeal_acknowledgement").exists()


# --- The Director's decision ---------------------------------------------------------------


def test_the_director_decides_and_the_appeal_and_complaint_close_with_a_letter_emailed_as_a_pdf():
    boss = director()
    appeal = lodged()
    owner = manager()

    decided = decide(
        appeal,
        boss,
        decision="original_decision_changed",
        new_outcome="upheld",
        reasons="The client was not told of the change of plan.",
        recommendations="Brief the dispatch team on telling clients about delays.",
        actions=[
            ActionSpec(kind="put_right", description="Refund the call-out fee.", owner=owner, due_date=in_days(7))
        ],
    )

    assert decided.status == Appeal.Status.DECIDED
    assert decided.decided_by == boss
    complaint = Complaint.objects.get(pk=appeal.complaint_id)
    assert complaint.status == Complaint.Status.CLOSED
    action = Action.objects.get(complaint=complaint)
    assert action.from_appeal
    assert action.owner == owner
    letter = Letter.objects.get(complaint=complaint, kind="appeal_decision")
    assert letter.client_visible
    assert complaint.events.get(kind=Event.APPEAL_DECIDED).client_visible
    deliver(kind="appeal_decision_letter")
    email = last_mail_to(complaint.email)
    assert complaint.reference in email.subject
    assert "changed" in email.body
    (name, content, mimetype) = email.attachments[0]
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    assert name == f"{complaint.reference}-appeal_decision.pdf"


def test_deciding_straight_from_acknowledged_records_the_review_first():
    appeal = lodged()

    decide(appeal, director())

    kinds = list(appeal.complaint.events.values_list("kind", flat=True))
    assert kinds.index(Event.APPEAL_REVIEW_STARTED) < kinds.index(Event.APPEAL_DECIDED)


def test_a_decision_is_final_and_cannot_be_made_again():
    boss = director()
    appeal = decide(lodged(), boss)

    with pytest.raises(TransitionNotAllowed, match="decided"):
        decide(appeal, boss)

    appeal.refresh_from_db()
    assert appeal.decision == "original_decision_upheld"
    assert Letter.objects.filter(kind="appeal_decision").count() == 1


def test_no_further_appeal_after_the_decision():
    appeal = decide(lodged(), director())

    with pytest.raises(ValidationError, match="already been made"):
        services.appeal_log(
            actor=lead(),
            complaint=appeal.complaint,
            channel="letter",
            received_at=timezone.now(),
            reasons="Second try",
            late_reason="-",
        )


def test_a_decision_needs_a_decision_and_reasons_and_changes_nothing_without_them():
    appeal = lodged()

    with pytest.raises(ValidationError) as error:
        decide(appeal, director(), decision="", reasons=" ")

    assert set(error.value.message_dict) == {"decision", "reasons"}
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED


def test_an_action_in_a_decision_needs_an_owner_and_a_date_not_in_the_past():
    appeal = lodged()
    bad = ActionSpec(kind="put_right", description="Refund", owner=None, due_date=in_days(-3))

    with pytest.raises(ValidationError) as error:
        decide(appeal, director(), actions=[bad])

    assert len(error.value.message_dict["actions"]) == 2


def test_the_investigating_manager_cannot_decide_even_with_the_decide_permission():
    worker = manager()
    worker.groups.add(*director().groups.all())
    appeal = lodged(responded(worker))

    with pytest.raises(PermissionDenied, match="took part in the investigation"):
        decide(appeal, worker)

    other = director()
    assert decide(appeal, other).status == Appeal.Status.DECIDED


def test_a_director_who_wrote_a_note_in_the_investigation_cannot_decide():
    boss = director()
    complaint = responded()
    # A director does not normally work cases; grant it for the test.
    boss.groups.add(*lead().groups.all())
    Complaint.objects.filter(pk=complaint.pk).update(status=Complaint.Status.INVESTIGATING)
    complaint_add_note(actor=boss, complaint=complaint, text="Checked the dispatch log.")
    Complaint.objects.filter(pk=complaint.pk).update(status=Complaint.Status.RESPONDED)
    appeal = lodged(Complaint.objects.get(pk=complaint.pk))

    with pytest.raises(PermissionDenied, match="independent"):
        decide(appeal, boss)


def test_managers_and_leads_cannot_decide():
    appeal = lodged()

    for user in (manager(), lead()):
        with pytest.raises(PermissionDenied, match="Only a Director"):
            decide(appeal, user)

    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED


def test_a_decision_against_a_stale_revision_is_refused():
    appeal = lodged()
    revision = appeal.revision
    services.appeal_start_review(actor=director(), appeal=appeal)

    with pytest.raises(StaleCase):
        decide(appeal, director(), expected_revision=revision)


def test_the_decision_preview_is_a_pdf_and_saves_nothing():
    appeal = lodged()

    pdf = services.decision_letter_preview(
        actor=director(),
        appeal=appeal,
        decision="original_decision_upheld",
        reasons="Fair.",
        recommendations="",
        actions=[],
    )

    assert pdf.startswith(b"%PDF-")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED
    assert not Letter.objects.filter(kind="appeal_decision").exists()


def test_appeal_deadlines_follow_the_settings():
    appeal = lodged(send=False)

    assert settings.APPEAL_ACKNOWLEDGEMENT_DAYS == 2
    assert appeal.current_due_date == appeal.acknowledgement_due
    deliver(kind="appeal_acknowledgement")
    appeal.refresh_from_db()
    assert appeal.current_due_date == appeal.decision_due
    assert (
        business_days.business_days_between(business_days.effective_date(appeal.acknowledged_at), appeal.decision_due)
        == 15
    )
