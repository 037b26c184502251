"""When the Director changes the original decision, the decision records the outcome now: the letter and
the client's page say what changed, and the reports count the complaint by its new outcome."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from appeals import services
from appeals.models import Appeal
from cases import business_days, links
from cases.services import ActionSpec
from notifications.letters import letter_file
from notifications.models import Letter
from reports import selectors
from reports.selectors import Filters, Period
from tests.appeals.helpers import deliver, lodged
from tests.factories import business_days_from_today, director, manager
from tests.services import missing

pytestmark = pytest.mark.django_db
CHANGED = Appeal.Decision.ORIGINAL_DECISION_CHANGED


def refund(owner) -> ActionSpec:
    return ActionSpec(
        kind="put_right", description="Refund the fee.", owner=owner, due_date=business_days_from_today(5)
    )


def test_a_changed_decision_records_the_new_outcome_and_says_what_changed(client):
    appeal = lodged()  # the original outcome: not upheld
    decided = services.appeal_decide(
        actor=director(),
        appeal=appeal,
        decision=CHANGED,
        new_outcome="upheld",
        reasons="The engineer's delay was never explained.",
        actions=[refund(manager())],
    )

    assert decided.new_outcome == "upheld"
    complaint = decided.complaint
    complaint.refresh_from_db()
    assert complaint.outcome == "not_upheld"  # the original stays on record
    event = complaint.events.get(kind="appeal_decided")
    assert event.summary == "Final decision on the appeal issued: original decision changed (the outcome is now upheld)"
    shown = client.get(reverse("client:case", args=[links.client_token(complaint)])).content.decode()
    assert "your complaint is now <strong>upheld</strong> (our response found it not upheld)" in shown

    if shutil.which("pdftotext") is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    letter = Letter.objects.get(complaint=complaint, kind=services.DECISION_LETTER)
    pdf = letter_file(letter).file.read()  # stored after the commit, or made now
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode().split()
    )
    assert "Our response found your complaint not upheld; it is now upheld." in text


def test_a_changed_decision_must_say_the_new_outcome_and_it_must_differ():
    appeal = lodged()
    with pytest.raises(ValidationError) as missing_outcome:
        services.appeal_decide(actor=director(), appeal=appeal, decision=CHANGED, reasons="Wrong.")
    assert "Choose what the outcome is now" in str(missing_outcome.value)
    with pytest.raises(ValidationError) as same:
        services.appeal_decide(
            actor=director(), appeal=appeal, decision=CHANGED, new_outcome="not_upheld", reasons="Wrong."
        )
    assert "The original outcome was already not upheld" in str(same.value)
    appeal.refresh_from_db()
    assert appeal.status != Appeal.Status.DECIDED


def test_a_changed_outcome_that_finds_fault_needs_an_action_to_put_it_right():
    appeal = lodged()
    with pytest.raises(ValidationError) as refused:
        services.appeal_decide(actor=director(), appeal=appeal, decision=CHANGED, new_outcome="upheld", reasons="Yes.")
    assert "An upheld outcome needs at least one action" in str(refused.value)


def test_upholding_the_original_decision_records_no_new_outcome():
    appeal = lodged()
    decided = services.appeal_decide(
        actor=director(),
        appeal=appeal,
        decision=Appeal.Decision.ORIGINAL_DECISION_UPHELD,
        new_outcome="upheld",  # ignored: the decision stands
        reasons="Investigated properly.",
    )
    assert decided.new_outcome == ""


def test_reports_count_a_changed_complaint_by_its_new_outcome():
    appeal = lodged()
    services.appeal_decide(
        actor=director(),
        appeal=appeal,
        decision=CHANGED,
        new_outcome="partially_upheld",
        reasons="Partly our fault.",
        actions=[refund(manager())],
    )
    deliver(kind="appeal_decision_letter")
    today = business_days.london_today()
    period = Period(today - dt.timedelta(days=400), today, "the last year")

    figures = selectors.report(period, Filters(), today, use_summary=False)

    outcomes = {value: n for value, _label, n in figures.outcomes}
    assert outcomes["partially_upheld"] == 1
    assert outcomes["not_upheld"] == 0
    assert figures.appeals_changed == 1
    listed = selectors.cases_for_figure(period, Filters(), "outcome_partially_upheld", today)
    assert [case.pk for case in listed] == [appeal.complaint_id]
    assert not selectors.cases_for_figure(period, Filters(), "outcome_not_upheld", today).exists()
