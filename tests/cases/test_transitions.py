"""A status changes only through the model's transition, which saves the row and writes the event in one step."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db import transaction

from appeals.models import Appeal
from cases.business_days import LONDON
from cases.models import Complaint, ComplaintEvent, StatusChangedOutsideTransition, TransitionNotAllowed
from tests.factories import AcknowledgedComplaintFactory, ComplaintFactory, lead

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
Status = Complaint.Status
AT = dt.datetime(2026, 12, 9, 11, 0, tzinfo=LONDON)


def test_a_transition_saves_the_status_bumps_the_revision_and_writes_its_event():
    case = AcknowledgedComplaintFactory()
    boss = lead()
    revision = case.revision

    with transaction.atomic():
        event = case.transition(
            Status.INVESTIGATING, event=ComplaintEvent.Kind.INVESTIGATION_STARTED, summary="Started", actor=boss, at=AT
        )

    case.refresh_from_db()
    assert (case.status, case.revision) == (Status.INVESTIGATING, revision + 1)
    assert (event.from_status, event.to_status, event.actor, event.created_at) == (
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        boss,
        AT,
    )
    assert list(case.events.values_list("kind", flat=True)) == [ComplaintEvent.Kind.INVESTIGATION_STARTED]


def test_a_transition_the_table_does_not_allow_is_refused_and_changes_nothing():
    case = ComplaintFactory(status=Status.RECEIVED)
    with pytest.raises(TransitionNotAllowed, match="is received; it cannot become responded"), transaction.atomic():
        case.transition(Status.RESPONDED, event=ComplaintEvent.Kind.OUTCOME_ISSUED, summary="No")
    case.refresh_from_db()
    assert case.status == Status.RECEIVED
    assert not case.events.exists()


@pytest.mark.django_db(transaction=True)
def test_a_transition_outside_a_transaction_is_refused():
    case = AcknowledgedComplaintFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        case.transition(Status.INVESTIGATING, event=ComplaintEvent.Kind.INVESTIGATION_STARTED, summary="Started")


def test_a_status_set_directly_is_never_saved():
    case = AcknowledgedComplaintFactory()
    case = Complaint.objects.get(pk=case.pk)
    case.status = Status.CLOSED
    with pytest.raises(StatusChangedOutsideTransition):
        case.save()
    assert Complaint.objects.get(pk=case.pk).status == Status.ACKNOWLEDGED


def test_other_changes_save_as_usual_and_a_reloaded_case_knows_its_status():
    case = Complaint.objects.get(pk=AcknowledgedComplaintFactory().pk)
    case.save_change("name")  # no status change: fine
    Complaint.objects.filter(pk=case.pk).update(status=Status.INVESTIGATING)
    case.refresh_from_db()
    case.name = "New name"
    case.save()  # the status read back is the one saved
    assert Complaint.objects.get(pk=case.pk).name == "New name"


def test_many_cases_change_by_one_compare_and_set_each_with_its_event():
    responded = [AcknowledgedComplaintFactory(status=Status.RESPONDED) for _ in range(3)]
    appealed = AcknowledgedComplaintFactory(status=Status.UNDER_APPEAL)

    with transaction.atomic():
        changed = Complaint.objects.filter(pk__in=[c.pk for c in [*responded, appealed]]).transition_all(
            Status.CLOSED,
            source=Status.RESPONDED,
            event=ComplaintEvent.Kind.CLOSED,
            summary=lambda case: f"Closed {case.reference}",
            at=AT,
        )

    assert sorted(case.pk for case in changed) == sorted(c.pk for c in responded)
    assert set(Complaint.objects.filter(pk__in=[c.pk for c in responded]).values_list("status", flat=True)) == {
        Status.CLOSED
    }
    appealed.refresh_from_db()
    assert appealed.status == Status.UNDER_APPEAL  # not in the source state: left alone, no event
    assert not appealed.events.exists()
    for case in responded:
        [event] = case.events.all()
        assert (event.from_status, event.to_status, event.summary) == (
            Status.RESPONDED,
            Status.CLOSED,
            f"Closed {case.reference}",
        )


def test_a_bulk_change_the_table_does_not_allow_is_refused():
    ComplaintFactory(status=Status.RECEIVED)
    with pytest.raises(ValueError, match="does not allow"), transaction.atomic():
        Complaint.objects.transition_all(
            Status.CLOSED, source=Status.RECEIVED, event=ComplaintEvent.Kind.CLOSED, summary=str, at=AT
        )


def test_an_appeals_steps_are_written_on_its_complaints_timeline():
    case = AcknowledgedComplaintFactory(status=Status.UNDER_APPEAL)
    appeal = Appeal.objects.create(complaint=case, reasons="I disagree.", received_at=AT, acknowledgement_due=AT.date())
    with transaction.atomic():
        appeal.transition(Appeal.Status.ACKNOWLEDGED, event=ComplaintEvent.Kind.APPEAL_ACKNOWLEDGED, summary="Ack")
    assert list(case.events.values_list("kind", flat=True)) == [ComplaintEvent.Kind.APPEAL_ACKNOWLEDGED]


def test_no_code_changes_a_status_in_bulk_behind_the_models_back():
    """A status changes through ``transition`` or ``transition_all`` (cases/models.py), nowhere else."""
    bulk = re.compile(r"\.update\([^)]*\bstatus\s*=")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("accounts", "appeals", "audit", "cases", "notifications", "procedure", "reports", "demo")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and path != ROOT / "cases" / "models.py" and bulk.search(path.read_text())
    ]
    assert offenders == []
