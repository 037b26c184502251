"""What the complaints count for in the reports, as counters that add up and do not age.

A ``Tally`` is a flat ``Counter`` of named counts: ``received``, ``channel:web``, ``result:upheld``,
``category:3``, ``cause:2``, ``acknowledgement:on_time``, ``outcome:owed:2026-11-26``,
``stage:outcome:7``, ``actions:open:2026-12-01``... (the names are made by the
functions below and read back by ``reports.selectors.figures_from``). Two
properties make it the unit of the reports:

* tallies add up: the tally of a set of complaints is the sum of the tallies of
  any split of it (by month, by channel, category and manager), so months kept in
  the summary (``reports.summary``) and months counted live add to the same figures;
* nothing in a tally depends on the day it is read: a promise still owed is counted
  under its due date, an action not done under its due date, and whether that is late
  or overdue is decided when the figures are read, against that day.

Business days per stage are counted here with the calendar (``cases.business_days``:
bank holidays and closure days live there, not in SQL), so a tally depends on the
calendar between the dates it used: ``count`` says which span that was, and the
summary keeps a fingerprint of the calendar over it with each month.

The counting is five grouped queries (complaints, extensions, complaint stage dates,
appeal stage dates, actions): the database groups, Python adds up the groups. The
number of groups is bounded by the calendar and the filters, not by the number of cases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.db.models.lookups import GreaterThanOrEqual

from appeals.models import Appeal
from cases import business_days, deadlines
from cases.business_days import LONDON, BusinessCalendar, OutOfRange
from cases.deadlines import Deadline
from cases.models import Action, Complaint, Extension

Status = Complaint.Status
FOUND_FAULT = (Complaint.Outcome.UPHELD, Complaint.Outcome.PARTIALLY_UPHELD)
ON_TIME, LATE = "on time", "late"


class Tally(Counter):
    """Named counts of a set of complaints (see the module's docstring); ``+=`` or ``update`` adds."""


# --- the promises, as the reports judge them (docs/specification.md, the deadline rule) ---------------------------


@dataclass(frozen=True)
class Promise:
    """A promise of the procedure: kept if done on or before its due date in force (London dates).

    Still owed (its clock running, not done) and past its due date: late. Still owed and
    not yet due, or owing nothing (withdrawn before it fell due): neither.
    """

    name: str  # the figure: acknowledgement, outcome, appeal
    deadline: str  # the cases.Extension deadline that moves it
    done: str  # when it was kept
    due: str  # the due date in force (after any extension)
    running_field: str  # the clock runs while this field has one of running_values
    running_values: tuple[str, ...]

    def fact(self, prefix: str = "") -> Case:
        """What a tally keeps of this promise for one complaint, as one value to group by.

        ON_TIME or LATE once done (comparing London dates); while owed, the due date as
        YYYY-MM-DD (late or not is for the day of reading); "" when neither.
        """
        return Case(
            When(self._kept(prefix), then=Value(ON_TIME)),
            When(self._done(prefix), then=Value(LATE)),
            When(self._owed(prefix), then=IsoDate(f"{prefix}{self.due}")),
            default=Value(""),
            output_field=CharField(),
        )

    def state(self, today: date, prefix: str = "") -> Case:
        """The state on ``today`` in one expression: ON_TIME, LATE or "" (for the CSV export's filters)."""
        return Case(
            When(self._kept(prefix), then=Value(ON_TIME)),
            When(self._done(prefix) | (self._owed(prefix) & Q(**{f"{prefix}{self.due}__lt": today})), then=Value(LATE)),
            default=Value(""),
            output_field=CharField(),
        )

    def _done(self, prefix: str) -> Q:
        return Q(**{f"{prefix}{self.done}__isnull": False})

    def _kept(self, prefix: str) -> Q:
        """Done on or before the due date in force, comparing London dates."""
        done_day = TruncDate(f"{prefix}{self.done}", tzinfo=LONDON)
        return self._done(prefix) & Q(GreaterThanOrEqual(F(f"{prefix}{self.due}"), done_day))

    def _owed(self, prefix: str) -> Q:
        return Q(**{f"{prefix}{self.done}__isnull": True, f"{prefix}{self.running_field}__in": self.running_values})


PROMISES = (
    # The clocks of cases.deadlines: a promise is owed while its clock runs (not while it is stopped,
    # a case waiting for the client).
    Promise(
        "acknowledgement",
        Deadline.ACKNOWLEDGEMENT,
        "acknowledged_at",
        "acknowledgement_due",
        "status",
        deadlines.running_statuses(deadlines.COMPLAINT_CLOCKS, Deadline.ACKNOWLEDGEMENT),
    ),
    Promise(
        "outcome",
        Deadline.OUTCOME,
        "responded_at",
        "outcome_due",
        "status",
        deadlines.running_statuses(deadlines.COMPLAINT_CLOCKS, Deadline.OUTCOME),
    ),
    Promise(
        "appeal",
        Deadline.APPEAL_DECISION,
        "appeal__decided_at",
        "appeal__decision_due",
        "appeal__status",
        deadlines.running_statuses(deadlines.APPEAL_CLOCKS, Deadline.APPEAL_DECISION),
    ),
)


# --- the names of the counts ---------------------------------------------------------------------

STAGES = {
    "acknowledgement": "Receipt to acknowledgement",
    "outcome": "Acknowledgement to outcome (time waiting for the client included)",
    "appeal_acknowledgement": "Appeal received to acknowledged",
    "appeal_decision": "Appeal acknowledged to decided",
}


def category_key(category_id: int | None) -> str:
    return f"category:{category_id or 'none'}"


def fault_key(category_id: int | None) -> str:
    return f"fault:{category_id or 'none'}"


def cause_key(root_cause_id: int | None) -> str:
    """The root cause in force of a complaint with an outcome (the Director's, where the appeal changed it)."""
    return f"cause:{root_cause_id or 'none'}"


def _add_promise(tally: Tally, name: str, fact: str | None, n: int, *, extended: bool = False) -> None:
    suffix = ":extended" if extended else ""
    if fact == ON_TIME:
        tally[f"{name}:on_time{suffix}"] += n
    elif fact == LATE:
        tally[f"{name}:late{suffix}"] += n
    elif fact:
        tally[f"{name}:owed:{fact}{suffix}"] += n


class IsoDate(Func):
    """A date as YYYY-MM-DD text, whatever the database's date style."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)  # stored as YYYY-MM-DD


# --- counting --------------------------------------------------------------------------------------

# What a tally can be split by: each a function of the path from the counted model to the complaint.
DIMENSIONS: dict[str, Callable[[str], object]] = {
    "month": lambda p: TruncMonth(f"{p}received_at", tzinfo=LONDON),
    "channel": lambda p: F(f"{p}channel"),
    "category_id": lambda p: F(f"{p}category_id"),
    "assignee_id": lambda p: F(f"{p}assignee_id"),
}
Cohort = Callable[[str], Q]  # the complaints counted, as a condition reached through a prefix


@dataclass
class Counted:
    tallies: dict[tuple, Tally] = field(default_factory=lambda: defaultdict(Tally))
    # The dates business days were counted between: the figures depend on the calendar there.
    calendar: BusinessCalendar | None = None
    calendar_from: date | None = None
    calendar_until: date | None = None

    def total(self) -> Tally:
        out = Tally()
        for tally in self.tallies.values():
            out.update(tally)
        return out


def complaints_counted(prefix: str = "") -> Q:
    """The cases the figures count, as a condition: none a complaints lead closed without an outcome (not a
    complaint, or a duplicate merged into its main case: ``Complaint.CLOSED_WITHOUT_OUTCOME``). Every cohort of
    the reports (``reports.selectors.spans_q``, the kept months of ``reports.summary``) includes it."""
    return ~Q(**{f"{prefix}status__in": Complaint.CLOSED_WITHOUT_OUTCOME})


def count(cohort: Cohort, by: tuple[str, ...] = ()) -> Counted:
    """The tallies of the complaints in ``cohort``, one per value of the dimensions ``by``.

    Keys are tuples of the ``by`` values (months as dates); ``by=()`` gives one tally, key ().
    """
    counted = Counted(calendar=business_days.get_calendar())
    rank = _ranker(counted)

    def dims(prefix: str) -> dict:
        return {f"dim_{name}": DIMENSIONS[name](prefix) for name in by}

    def key(row: Mapping[str, Any]) -> tuple:
        return tuple(_as_date(row[f"dim_{name}"]) if name == "month" else row[f"dim_{name}"] for name in by)

    def facts(prefix: str) -> dict:
        return {f"{promise.name}_fact": promise.fact(prefix) for promise in PROMISES}

    complaints = (
        Complaint.objects.filter(cohort(""))
        .values(
            "channel",
            "category_id",
            "status",
            "outcome",
            "appeal__status",
            "appeal__decision",
            "appeal__new_outcome",
            "root_cause_id",
            "appeal__new_root_cause_id",
            **dims(""),
            **facts(""),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    for complaint in complaints:
        _add_complaints(counted.tallies[key(complaint)], dict(complaint))

    extended = (
        Extension.objects.filter(cohort("complaint__"), deadline__in=[p.deadline for p in PROMISES])
        .values("deadline", **dims("complaint__"), **facts("complaint__"))
        .annotate(n=Count("complaint_id", distinct=True))
        .order_by()
    )
    promise_of = {p.deadline: p.name for p in PROMISES}
    for extension in extended:
        facts_of: dict[str, Any] = dict(extension)  # its facts' names are made up above: a plain dict
        name = promise_of[facts_of["deadline"]]
        _add_promise(counted.tallies[key(facts_of)], name, facts_of[f"{name}_fact"], facts_of["n"], extended=True)

    # Business days per stage: the database groups the cases by their dates, Python counts the
    # business days of each distinct pair with the calendar.
    complaint_dates = (
        Complaint.objects.filter(cohort(""), acknowledged_at__isnull=False)
        .values(
            **dims(""),
            started=_clock_start("received_at"),
            acknowledged=TruncDate("acknowledged_at", tzinfo=LONDON),
            responded=TruncDate("responded_at", tzinfo=LONDON),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    first_business_day_from = cache(lambda day: _first_business_day_from(counted, day))
    for dates in complaint_dates:
        tally = counted.tallies[key(dates)]
        started = first_business_day_from(dates["started"])
        _add_stage(tally, "acknowledgement", rank, dates["n"], started, dates["acknowledged"], dates["started"])
        _add_stage(tally, "outcome", rank, dates["n"], dates["acknowledged"], dates["responded"])
    appeal_dates = (
        Appeal.objects.filter(cohort("complaint__"))
        .values(
            **dims("complaint__"),
            started=_clock_start("received_at"),
            acknowledged=TruncDate("acknowledged_at", tzinfo=LONDON),
            decided=TruncDate("decided_at", tzinfo=LONDON),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    for appeal_dates_row in appeal_dates:
        tally = counted.tallies[key(appeal_dates_row)]
        started = first_business_day_from(appeal_dates_row["started"])
        acknowledged = appeal_dates_row["acknowledged"]
        n = appeal_dates_row["n"]
        _add_stage(tally, "appeal_acknowledgement", rank, n, started, acknowledged, appeal_dates_row["started"])
        _add_stage(tally, "appeal_decision", rank, n, acknowledged, appeal_dates_row["decided"])

    done_day = TruncDate("done_at", tzinfo=LONDON)
    actions = (
        Action.objects.filter(cohort("complaint__"))
        .values(
            **dims("complaint__"), open_due=Case(When(done_at__isnull=True, then=IsoDate("due_date")), default=None)
        )
        .annotate(
            n=Count("pk"),
            on_time=Count("pk", filter=Q(done_at__isnull=False) & Q(GreaterThanOrEqual(F("due_date"), done_day))),
        )
        .order_by()
    )
    for action in actions:
        tally = counted.tallies[key(action)]
        if action["open_due"]:
            tally[f"actions:open:{action['open_due']}"] += action["n"]
            continue
        for name, n in (("actions:on_time", action["on_time"]), ("actions:late", action["n"] - action["on_time"])):
            if n:  # a tally holds no zero counts
                tally[name] += n
    return counted


def _add_complaints(tally: Tally, row: dict) -> None:
    n = row["n"]
    tally["received"] += n
    tally[f"channel:{row['channel']}"] += n
    tally[category_key(row["category_id"])] += n
    if row["status"] == Status.WITHDRAWN:
        tally["withdrawn"] += n
    if row["outcome"]:
        tally["responded"] += n
        # The outcome in force: the Director's, where the appeal changed it.
        outcome = row["appeal__new_outcome"] or row["outcome"]
        tally[f"result:{outcome}"] += n
        if outcome in FOUND_FAULT:
            tally[fault_key(row["category_id"])] += n
        tally[cause_key(row["appeal__new_root_cause_id"] or row["root_cause_id"])] += n
    if row["appeal__status"]:
        tally["appealed"] += n
        if row["appeal__status"] == Appeal.Status.DECIDED:
            tally["appeals_decided"] += n
        if row["appeal__decision"] == Appeal.Decision.ORIGINAL_DECISION_CHANGED:
            tally["appeals_changed"] += n
    for promise in PROMISES:
        _add_promise(tally, promise.name, row[f"{promise.name}_fact"], n)


def _add_stage(tally: Tally, stage: str, rank, n: int, start: date | None, end: date | None, *also: date) -> None:
    if start is None or end is None:
        return
    days = max(0, rank(end, *also) - rank(start))
    tally[f"stage:{stage}:{days}"] += n


def _ranker(counted: Counted):
    """rank(day): business days from a fixed origin up to ``day``; rank(b) - rank(a) = business days after a up to b.

    Memoised (the grouped rows repeat a few hundred dates thousands of times), and it
    widens ``counted``'s calendar span to every date it sees (``also``: dates the caller
    looked at through the calendar on the way, such as a clock start before it moved
    to a business day).
    """
    origin = date(2000, 1, 1)

    @cache
    def one(day: date) -> int:
        if counted.calendar_from is None or day < counted.calendar_from:
            counted.calendar_from = day
        if counted.calendar_until is None or day > counted.calendar_until:
            counted.calendar_until = day
        if counted.calendar is not None:
            try:
                return counted.calendar.business_days_between(origin, day)
            except OutOfRange:
                # Outside the calendar's years: the module's calendar widens itself and counts
                # the rest; with no single calendar to name, the summary will not keep this tally.
                counted.calendar = None
        return business_days.business_days_between(origin, day)

    def rank(day: date, *also: date) -> int:
        for other in also:
            one(other)
        return one(day)

    return rank


def _clock_start(field_name: str) -> TruncDate:
    """The London date a deadline's clock starts from, up to the next business day (one SQL expression).

    Shifting the moment on by the hours after close of business (6 h 30 for 17:30) moves
    exactly the arrivals after close to the next calendar date; the effective date
    (docs/specification.md) is then the first business day on or after that date, which Python takes
    from the calendar. (The shift is in absolute time: it differs from London's clock
    only across a clock change, at night on a Sunday, which is no business day either way.)
    """
    cob = settings.CLOSE_OF_BUSINESS
    shift = timedelta(days=1) - timedelta(hours=cob.hour, minutes=cob.minute)
    return TruncDate(ExpressionWrapper(F(field_name) + shift, output_field=DateTimeField()), tzinfo=LONDON)


def _first_business_day_from(counted: Counted, day: date | None) -> date | None:
    if day is None:
        return None
    if counted.calendar is not None:
        try:
            return day if counted.calendar.is_business_day(day) else counted.calendar.add_business_days(day, 1)
        except OutOfRange:
            counted.calendar = None  # as in _ranker
    return day if business_days.is_business_day(day) else business_days.add_business_days(day, 1)


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value
