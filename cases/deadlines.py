"""The running-deadline rule: which promise a case is working towards now, and whether its clock runs.

The one place this rule lives. The procedure's promises (SPEC: acknowledge a complaint in 2
business days, answer it in 10, acknowledge an appeal in 2, decide it in 15) are clocks; each
clock has a due-date field and the states in which it runs. A clock can also be *stopped*:
while a complaint waits for the client's information its outcome is still owed, but its clock
does not run (the due date moves on by the business days the wait took when the client answers).

Everything that needs the rule reads it from here, in the form it needs:

* Python, for one case: ``current_due(case)`` (the running due date, or None) and
  ``owed(complaint)`` (the promise owed now, running or stopped, the appeal's while under appeal);
* SQL, for lists: ``current_due_expression(clocks)``, the ``Case``/``When`` that the
  dashboard annotates, sorts and filters on, and ``due_q(clocks, ...)`` for a filter;
* the deadline sweep (``procedure.sweep``) walks ``COMPLAINT_CLOCKS`` and ``APPEAL_CLOCKS``;
* and how a due date is worded from today ("due in 2 business days", "overdue by 1 business
  day"), and when it is "due soon".

Migrations hold the same expression frozen in SQL (the ordering indexes of cases 0005 and
0010); ``tests/cases/test_deadline_rule.py`` checks them against ``current_due_expression``,
and checks for cases in every state that the SQL, the filter and the Python agree.

Statuses are written as their stored values: this module is imported by the models, so it
cannot import them (a test checks every value against the models' ``Status``).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from functools import reduce
from typing import Any

from django.db import models
from django.db.models import Case, F, Q, When

from cases import business_days


class Deadline(models.TextChoices):
    """The promises of the procedure that fall due on a date."""

    ACKNOWLEDGEMENT = "acknowledgement", "acknowledgement of the complaint"
    OUTCOME = "outcome", "written outcome"
    APPEAL_ACKNOWLEDGEMENT = "appeal_acknowledgement", "acknowledgement of the appeal"
    APPEAL_DECISION = "appeal_decision", "Director's decision on the appeal"
    ACTION = "action", "promised action"
    APPEAL_WINDOW = "appeal_window", "end of the appeal window"


@dataclass(frozen=True)
class Clock:
    """One promise: its due-date field, the states in which its clock runs, and those in which it is stopped."""

    deadline: str
    due_field: str
    runs_in: tuple[str, ...]
    stopped_in: tuple[str, ...] = ()

    @property
    def owed_in(self) -> tuple[str, ...]:
        return self.runs_in + self.stopped_in


COMPLAINT_CLOCKS = (
    Clock(Deadline.ACKNOWLEDGEMENT, "acknowledgement_due", runs_in=("received",)),
    Clock(
        Deadline.OUTCOME,
        "outcome_due",
        runs_in=("acknowledged", "investigating"),
        # Waiting for the client's information: the outcome is owed, its clock stopped.
        stopped_in=("awaiting_client",),
    ),
)
APPEAL_CLOCKS = (
    Clock(Deadline.APPEAL_ACKNOWLEDGEMENT, "acknowledgement_due", runs_in=("received",)),
    Clock(Deadline.APPEAL_DECISION, "decision_due", runs_in=("acknowledged", "under_review")),
)
# While a complaint is under appeal, what it owes is its appeal's.
UNDER_APPEAL = "under_appeal"

# Due soon: the running deadline falls within this many business days counted from today
# (today itself counting when it is a business day), and has not passed.
DUE_SOON_BUSINESS_DAYS = 2
OVERDUE = "overdue"
DUE_SOON = "due_soon"
LATER = "later"


# --- Reading a clock table -------------------------------------------------------------


def running_clock(clocks: tuple[Clock, ...], status: str) -> Clock | None:
    """The clock running in ``status``, if any."""
    return next((clock for clock in clocks if status in clock.runs_in), None)


def owed_clock(clocks: tuple[Clock, ...], status: str) -> Clock | None:
    """The promise owed in ``status``, whether its clock runs or is stopped."""
    return next((clock for clock in clocks if status in clock.owed_in), None)


def clock_running_statuses(clocks: tuple[Clock, ...]) -> tuple[str, ...]:
    """Every state in which one of the clocks runs."""
    return tuple(status for clock in clocks for status in clock.runs_in)


def running_statuses(clocks: tuple[Clock, ...], deadline: str) -> tuple[str, ...]:
    """The states in which the clock of ``deadline`` runs."""
    return next(clock.runs_in for clock in clocks if clock.deadline == deadline)


def current_due(case: Any, clocks: tuple[Clock, ...]) -> date | None:
    """The due date ``case`` is working towards now, or None when no clock runs (Python)."""
    clock = running_clock(clocks, case.status)
    return getattr(case, clock.due_field) if clock is not None else None


def current_due_expression(clocks: tuple[Clock, ...]) -> Case:
    """``current_due`` in SQL: ``CASE WHEN status IN (...) THEN <due field> ... ELSE NULL END``."""
    return Case(
        *(When(status__in=clock.runs_in, then=F(clock.due_field)) for clock in clocks),
        default=None,
        output_field=models.DateField(),
    )


def due_q(clocks: tuple[Clock, ...], **comparisons: date) -> Q:
    """Cases whose running deadline meets every comparison (``lt=``, ``lte=``, ``gte=``, ``gt=``), as a filter.

    One ``status IN (...) AND <due field> <op> <date>`` per clock, OR-ed: each part can be served
    by the index on (status, due field).
    """
    conditions = [
        Q(status__in=clock.runs_in, **{f"{clock.due_field}__{op}": day for op, day in comparisons.items()})
        for clock in clocks
    ]
    return reduce(operator.or_, conditions)


# --- What a complaint owes now ---------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """The promise a complaint owes now: which, the row holding its date, and whether its clock runs."""

    deadline: str
    holder: Any  # the complaint, or its appeal
    due_field: str
    running: bool

    @property
    def due(self) -> date | None:
        return getattr(self.holder, self.due_field)


def owed(complaint: Any) -> Owed | None:
    """The promise ``complaint`` owes now, running or stopped; its appeal's while under appeal; else None.

    The appeal is read through ``complaint.appeal`` (no query when the complaint was fetched
    with ``select_related("appeal")``).
    """
    holder, clocks = complaint, COMPLAINT_CLOCKS
    if complaint.status == UNDER_APPEAL:
        holder, clocks = complaint.appeal_or_none, APPEAL_CLOCKS
        if holder is None:
            return None
    clock = owed_clock(clocks, holder.status)
    if clock is None:
        return None
    return Owed(clock.deadline, holder, clock.due_field, running=holder.status in clock.runs_in)


# --- How far a due date is from today ------------------------------------------------------


def due_soon_horizon(today: date | None = None) -> date:
    """The last date that is still "due soon" on ``today``.

    The next two business days, today included when it is a business day: on a
    Monday, Monday and Tuesday; on a Saturday, Monday and Tuesday.
    """
    today = today or business_days.london_today()
    remaining = DUE_SOON_BUSINESS_DAYS - (1 if business_days.is_business_day(today) else 0)
    return business_days.add_business_days(today, remaining) if remaining else today


def deadline_state(due: date | None, today: date | None = None) -> str:
    """``"overdue"``, ``"due_soon"`` or ``"later"``; ``""`` when no deadline is running."""
    if due is None:
        return ""
    today = today or business_days.london_today()
    if due < today:
        return OVERDUE
    if due <= due_soon_horizon(today):
        return DUE_SOON
    return LATER


def business_days_overdue(due: date | None, today: date | None = None) -> int:
    """How many business days a due date is overdue (0 if it is not).

    Straight after the due date (a weekend, a holiday) no business day has passed yet
    but the promise is already broken: that counts as 1, never 0.
    """
    today = today or business_days.london_today()
    if due is None or today <= due:
        return 0
    return max(1, business_days.business_days_between(due, today))


def _plural(n: int) -> str:
    return f"{n} business day" if n == 1 else f"{n} business days"


def deadline_label(due: date | None, today: date | None = None) -> str:
    """The words for a due date seen from ``today`` (London), or ``""`` without a due date.

    "due today", "due in N business days", "overdue by N business days".
    """
    if due is None:
        return ""
    today = today or business_days.london_today()
    if due == today:
        return "due today"
    if due > today:
        return f"due in {_plural(business_days.business_days_between(today, due))}"
    return f"overdue by {_plural(business_days_overdue(due, today))}"


def business_days_late(due: date | None, done: date) -> int:
    """How many business days after ``due`` the day ``done`` is: 0 when on or before it (or with no due date)."""
    if due is None or done <= due:
        return 0
    return business_days.business_days_between(due, done)
