"""The running-deadline rule (cases/deadlines.py) read three ways, which must agree: in SQL, as a filter and in Python.

For complaints and appeals in every state, including a clock stopped (waiting for the
client), a date moved by an extension, and a complaint under appeal; and the ordering
indexes of the migrations hold the same expression as PostgreSQL reads it.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection

from appeals.models import Appeal
from cases import deadlines
from cases.business_days import LONDON
from cases.models import Complaint
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 9)
ACK_DUE = TODAY + dt.timedelta(days=1)
OUTCOME_DUE = TODAY + dt.timedelta(days=12)
Status = Complaint.Status


def complaint(status: str, **fields) -> Complaint:
    return ComplaintFactory(
        status=status,
        received_at=dt.datetime(2026, 12, 7, 10, 0, tzinfo=LONDON),
        acknowledgement_due=ACK_DUE,
        acknowledged_at=None if status == Status.RECEIVED else dt.datetime(2026, 12, 8, 10, 0, tzinfo=LONDON),
        outcome_due=None if status == Status.RECEIVED else OUTCOME_DUE,
        **fields,
    )


def agree(model, obj, clocks) -> dt.date | None:
    """The running due date as SQL annotates it, after checking the filter and Python say the same."""
    python = deadlines.current_due(obj, clocks)
    annotated = model.objects.with_current_due().get(pk=obj.pk).current_due
    assert annotated == python
    # Filtering by the rule (as the dashboard and the sweep do) finds the case exactly when a clock runs.
    if python is None:
        assert not model.objects.filter(deadlines.due_q(clocks, lte=dt.date.max), pk=obj.pk).exists()
    else:
        assert model.objects.filter(deadlines.due_q(clocks, gte=python, lte=python), pk=obj.pk).exists()
        assert not model.objects.filter(deadlines.due_q(clocks, lt=python), pk=obj.pk).exists()
    return python


@pytest.mark.parametrize("status", list(Status))
def test_a_complaint_agrees_in_sql_filter_and_python_in_every_state(status):
    case = complaint(status)
    due = agree(Complaint, case, deadlines.COMPLAINT_CLOCKS)
    expected = {Status.RECEIVED: ACK_DUE, Status.ACKNOWLEDGED: OUTCOME_DUE, Status.INVESTIGATING: OUTCOME_DUE}
    assert due == expected.get(status)
    assert case.current_due_date == due


def test_a_stopped_clock_runs_nowhere_but_the_promise_is_still_owed():
    case = complaint(Status.AWAITING_CLIENT, clock_stopped_at=dt.datetime(2026, 12, 8, 12, 0, tzinfo=LONDON))
    assert agree(Complaint, case, deadlines.COMPLAINT_CLOCKS) is None
    owed = deadlines.owed(case)
    assert (owed.deadline, owed.due, owed.running) == (deadlines.Deadline.OUTCOME, OUTCOME_DUE, False)


def test_an_extended_date_is_the_one_every_reading_uses():
    case = complaint(Status.INVESTIGATING)
    Complaint.objects.filter(pk=case.pk).update(outcome_due=OUTCOME_DUE + dt.timedelta(days=7))
    case.refresh_from_db()
    assert agree(Complaint, case, deadlines.COMPLAINT_CLOCKS) == OUTCOME_DUE + dt.timedelta(days=7)


@pytest.mark.parametrize("status", list(Appeal.Status))
def test_an_appeal_agrees_in_sql_filter_and_python_and_is_what_its_complaint_owes(status):
    case = complaint(Status.UNDER_APPEAL)
    appeal = Appeal.objects.create(
        complaint=case,
        status=status,
        reasons="I disagree.",
        received_at=dt.datetime(2026, 12, 8, 9, 0, tzinfo=LONDON),
        acknowledgement_due=ACK_DUE,
        decision_due=None if status == Appeal.Status.RECEIVED else OUTCOME_DUE,
        **(
            {"decision": "original_decision_upheld", "decision_reasons": "Fair."}
            if status == Appeal.Status.DECIDED
            else {}
        ),
    )
    due = agree(Appeal, appeal, deadlines.APPEAL_CLOCKS)
    expected = {Appeal.Status.RECEIVED: ACK_DUE, Appeal.Status.ACKNOWLEDGED: OUTCOME_DUE}
    expected[Appeal.Status.UNDER_REVIEW] = OUTCOME_DUE
    assert due == expected.get(status)
    # The complaint under appeal owes its appeal's promise; its own clocks run no more.
    case = Complaint.objects.select_related("appeal").get(pk=case.pk)
    assert agree(Complaint, case, deadlines.COMPLAINT_CLOCKS) is None
    owed = deadlines.owed(case)
    assert (owed.due if owed else None) == due


def test_every_state_the_clocks_name_is_a_real_state():
    tables = ((deadlines.COMPLAINT_CLOCKS, Status.values), (deadlines.APPEAL_CLOCKS, Appeal.Status.values))
    for clocks, states in tables:
        for clock in clocks:
            assert set(clock.owed_in) <= set(states), clock
    assert deadlines.UNDER_APPEAL in Status.values


def _case_expression(definition: str) -> str:
    """The CASE ... END of a definition PostgreSQL printed, without table names."""
    case = re.search(r"CASE .* END", " ".join(definition.split())).group(0)
    return re.sub(r"\bcases_complaint\.", "", case)


@pytest.mark.postgres
@pytest.mark.parametrize("index", ["complaint_current_due_order", "complaint_open_due_order"])
def test_the_ordering_indexes_hold_the_rule_as_postgresql_reads_it(index):
    """The migrations froze the rule in SQL; PostgreSQL uses an index only for the very same expression."""
    sql, params = Complaint.objects.with_current_due().values("current_due").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [index])
        frozen = cursor.fetchone()[0]
        cursor.execute(f"CREATE TEMPORARY VIEW deadline_rule_probe AS {cursor.mogrify(sql, params)}")
        cursor.execute("SELECT pg_get_viewdef('deadline_rule_probe'::regclass)")
        live = cursor.fetchone()[0]
        cursor.execute("DROP VIEW deadline_rule_probe")
    assert _case_expression(frozen) == _case_expression(live), (frozen, live)
