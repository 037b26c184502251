"""Every figure of the reports (issue 6), computed by the database.

Who is counted: the complaints *received* in the period (London dates) that match
the filters (category, channel, manager). Everything else follows those
complaints, whenever it happened: their acknowledgement, their outcome, their
appeal and the actions promised to them. A month's figures therefore never
change meaning when a later month is added, and a case is in exactly one month
of the trend.

"On time" is the procedure's rule (SPEC.md): done on or before the due date *in
force* (the one on the row now, after any extension), comparing London dates.
A promise still owed whose due date has passed is late; one still owed and not
yet due is neither, and is left out of the share. A case withdrawn before a
promise fell due owes nothing. Extensions (``cases.Extension`` rows) are counted
separately ("of which extended"), so an extended promise kept is visible as such.

Medians of business days per stage: the database groups the cases by their
(start date, end date) pair and counts them; Python turns each distinct pair
into business days with the calendar (``cases.business_days``: bank holidays
and closure days live there, not in SQL) and takes the weighted median. The
number of pairs is bounded by the calendar (a few thousand a year), not by the
number of cases, so nothing here loops over cases.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.db.models.lookups import GreaterThanOrEqual

from appeals.models import Appeal
from cases import business_days
from cases.business_days import LONDON
from cases.models import Action, Category, Complaint, Deadline, Extension

Status = Complaint.Status
Outcome = Complaint.Outcome
FOUND_FAULT = (Outcome.UPHELD, Outcome.PARTIALLY_UPHELD)
UNCATEGORISED = "Not yet categorised"


# --- the period and the filters ------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A span of London dates, both ends included."""

    first: date
    last: date
    label: str

    @property
    def starts_at(self):
        return business_days.start_of_london_day(self.first)

    @property
    def ends_before(self):
        return business_days.start_of_london_day(self.last + timedelta(days=1))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last_day = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last_day), f"{calendar.month_name[month]} {year}")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first_month = 3 * (quarter - 1) + 1
        last_month = first_month + 2
        last_day = calendar.monthrange(year, last_month)[1]
        return cls(date(year, first_month, 1), date(year, last_month, last_day), f"Q{quarter} {year}")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), str(year))

    @classmethod
    def custom(cls, first: date, last: date) -> Period:
        return cls(first, last, f"{first:%-d %b %Y} to {last:%-d %b %Y}")

    @classmethod
    def last_twelve_months(cls, today: date) -> Period:
        """The current month and the eleven before it."""
        month_index = today.year * 12 + today.month - 1 - 11
        first = date(month_index // 12, month_index % 12 + 1, 1)
        last_day = calendar.monthrange(today.year, today.month)[1]
        return cls(first, date(today.year, today.month, last_day), "the last 12 months")

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        out, day = [], self.first.replace(day=1)
        while day <= self.last:
            out.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return out


@dataclass(frozen=True)
class Filters:
    category_id: int | None = None
    channel: str = ""
    manager_id: int | None = None


def cohort_q(period: Period, filters: Filters, prefix: str = "") -> Q:
    """The complaints a report counts, as a condition (``prefix`` reaches them from a related model)."""
    conditions = {
        f"{prefix}received_at__gte": period.starts_at,
        f"{prefix}received_at__lt": period.ends_before,
    }
    if filters.category_id:
        conditions[f"{prefix}category_id"] = filters.category_id
    if filters.channel:
        conditions[f"{prefix}channel"] = filters.channel
    if filters.manager_id:
        conditions[f"{prefix}assignee_id"] = filters.manager_id
    return Q(**conditions)


# --- the facts of one case, as SQL expressions -----------------------------------------------

ON_TIME, LATE = "on time", "late"
# The three promises: (figure name, the Extension deadline that moves it).
PROMISES = (
    ("acknowledgement", Deadline.ACKNOWLEDGEMENT),
    ("outcome", Deadline.OUTCOME),
    ("appeal", Deadline.APPEAL_DECISION),
)


def _state(done: str, due: str, owed: Q) -> Case:
    """ON_TIME if done on or before the due date (London dates), LATE if done later or still owed past it."""
    done_day = TruncDate(done, tzinfo=LONDON)
    return Case(
        When(Q(**{f"{done}__isnull": False}) & Q(GreaterThanOrEqual(F(due), done_day)), then=Value(ON_TIME)),
        When(Q(**{f"{done}__isnull": False}) | owed, then=Value(LATE)),
        default=Value(""),
        output_field=CharField(),
    )


def promise_states(today: date, prefix: str = "") -> dict[str, Case]:
    """Each promise's state per complaint: ON_TIME, LATE or "" (not due yet, or nothing owed).

    Still owed and overdue: a received complaint past its acknowledgement date, an
    acknowledged or investigated one past its outcome date (not one waiting for the
    client: its clock is stopped), an appeal under way past its decision date.
    """
    p = prefix
    return {
        "acknowledgement": _state(
            f"{p}acknowledged_at",
            f"{p}acknowledgement_due",
            Q(**{f"{p}status": Status.RECEIVED, f"{p}acknowledgement_due__lt": today}),
        ),
        "outcome": _state(
            f"{p}responded_at",
            f"{p}outcome_due",
            Q(**{f"{p}status__in": Complaint.CLOCK_RUNNING_STATUSES, f"{p}outcome_due__lt": today}),
        ),
        "appeal": _state(
            f"{p}appeal__decided_at",
            f"{p}appeal__decision_due",
            Q(**{f"{p}appeal__status__in": Appeal.DECISION_RUNNING_STATUSES, f"{p}appeal__decision_due__lt": today}),
        ),
    }


def counted_complaints(period: Period, filters: Filters) -> QuerySet:
    return Complaint.objects.filter(cohort_q(period, filters)).order_by()


def figure_conditions() -> dict[str, Q]:
    """Each figure whose cases can be exported, as a condition on ``cases_for_figure``'s queryset."""
    conditions = {
        "all": Q(),
        "responded": ~Q(outcome=""),
        "appealed": Q(appeal__isnull=False),
        "appeal_changed": Q(appeal__decision=Appeal.Decision.ORIGINAL_DECISION_CHANGED),
    }
    for name, _ in PROMISES:
        short = "ack" if name == "acknowledgement" else name
        conditions[f"{short}_on_time"] = Q(**{f"{name}_state": ON_TIME})
        conditions[f"{short}_late"] = Q(**{f"{name}_state": LATE})
    for value in Outcome.values:
        conditions[f"outcome_{value}"] = Q(outcome=value)
    for value in Complaint.Channel.values:
        conditions[f"channel_{value}"] = Q(channel=value)
    return conditions


# Figures whose cases the CSV export can list (category_<id> too, see cases_for_figure).
EXPORTABLE = tuple(figure_conditions())


# --- the figures -------------------------------------------------------------------------------


@dataclass
class Share:
    """Kept / broken promises, and how many of each had their due date extended."""

    on_time: int = 0
    late: int = 0
    on_time_extended: int = 0
    late_extended: int = 0

    @property
    def measured(self) -> int:
        return self.on_time + self.late

    @property
    def percent(self) -> float | None:
        return None if not self.measured else round(100 * self.on_time / self.measured, 1)

    def add(self, state: str, n: int, *, extended: bool = False) -> None:
        name = {ON_TIME: "on_time", LATE: "late"}.get(state)
        if name:
            name += "_extended" if extended else ""
            setattr(self, name, getattr(self, name) + n)


@dataclass
class Figures:
    """One period's figures (or one month's, in the trend)."""

    received: int = 0
    by_channel: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)
    by_category: list[dict] = field(default_factory=list)  # id, name, total, fault
    acknowledgement: Share = field(default_factory=Share)
    outcome: Share = field(default_factory=Share)
    appeal: Share = field(default_factory=Share)
    outcomes: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)
    responded: int = 0
    appealed: int = 0
    appeals_decided: int = 0
    appeals_changed: int = 0
    medians: dict[str, float | None] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def appeal_rate(self) -> float | None:
        return None if not self.responded else round(100 * self.appealed / self.responded, 1)

    @property
    def changed_share(self) -> float | None:
        return None if not self.appeals_decided else round(100 * self.appeals_changed / self.appeals_decided, 1)

    @property
    def stage_list(self) -> list[tuple[str, str, float | None]]:
        return [(name, label, self.medians.get(name)) for name, label in STAGES.items()]

    @property
    def top_root_causes(self) -> list[dict]:
        """Categories by the number of complaints upheld in full or in part (what went wrong most)."""
        found = [row for row in self.by_category if row["fault"]]
        return sorted(found, key=lambda row: (-row["fault"], row["name"]))[:5]


def _add_groups(figures: Figures, groups: Iterable[dict], names: dict[int, str]) -> None:
    """Sum the grouped counts (one row per combination of facts, never per case) into ``figures``."""
    channels = dict.fromkeys(Complaint.Channel.values, 0)
    outcomes = dict.fromkeys(Outcome.values, 0)
    categories: dict[int | None, dict] = {}
    for row in groups:
        n = row["n"]
        figures.received += n
        channels[row["channel"]] = channels.get(row["channel"], 0) + n
        if row["outcome"]:
            outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + n
            figures.responded += n
        category = categories.setdefault(
            row["category_id"],
            {
                "id": row["category_id"],
                "name": names.get(row["category_id"], "Not yet categorised"),
                "total": 0,
                "fault": 0,
            },
        )
        category["total"] += n
        category["fault"] += n if row["outcome"] in FOUND_FAULT else 0
        for name, _ in PROMISES:
            getattr(figures, name).add(row[f"{name}_state"], n)
        if row["appeal__status"]:
            figures.appealed += n
            figures.appeals_decided += n if row["appeal__status"] == Appeal.Status.DECIDED else 0
            figures.appeals_changed += n if row["appeal__decision"] == Appeal.Decision.ORIGINAL_DECISION_CHANGED else 0
    figures.by_channel = [(value, label, channels[value]) for value, label in Complaint.Channel.choices]
    figures.outcomes = [(value, label, outcomes[value]) for value, label in Outcome.choices]
    figures.by_category = sorted(categories.values(), key=lambda row: (-row["total"], row["name"]))


GROUP_KEYS = ("channel", "outcome", "category_id", "appeal__status", "appeal__decision")


def _grouped(period: Period, filters: Filters, today: date, *, by_month: bool = False) -> QuerySet:
    """One row per combination of channel, category, outcome, appeal and promise states, with its count.

    Each case's facts are computed once (a CASE per promise) and the database groups
    them: a year of cases becomes a few hundred rows, whatever the number of cases.
    """
    states = {f"{name}_state": state for name, state in promise_states(today).items()}
    extra = {"month": TruncMonth("received_at", tzinfo=LONDON)} if by_month else {}
    return (
        counted_complaints(period, filters)
        .annotate(**states, **extra)
        .values(*extra, *GROUP_KEYS, *states)
        .annotate(n=Count("pk"))
        .order_by()
    )


def _extended(period: Period, filters: Filters, today: date, *, by_month: bool = False) -> QuerySet:
    """Complaints whose promise was extended, per deadline and state: read from the (few) Extension rows."""
    states = {f"{name}_state": state for name, state in promise_states(today, "complaint__").items()}
    extra = {"month": TruncMonth("complaint__received_at", tzinfo=LONDON)} if by_month else {}
    return (
        Extension.objects.filter(cohort_q(period, filters, "complaint__"), deadline__in=[d for _, d in PROMISES])
        .annotate(**states, **extra)
        .values(*extra, "deadline", *states)
        .annotate(n=Count("complaint_id", distinct=True))
        .order_by()
    )


def _add_extended(figures_for, rows: Iterable[dict]) -> None:
    promise_of = {deadline: name for name, deadline in PROMISES}
    for row in rows:
        name = promise_of[row["deadline"]]
        getattr(figures_for(row), name).add(row[f"{name}_state"], row["n"], extended=True)


def _action_counts(today: date) -> dict[str, Count]:
    return {
        "total": Count("pk"),
        "open": Count("pk", filter=Q(done_at__isnull=True, due_date__gte=today)),
        "overdue": Count("pk", filter=Q(done_at__isnull=True, due_date__lt=today)),
        "done": Count("pk", filter=Q(done_at__isnull=False)),
        "done_on_time": Count("pk", filter=Q(done_at__isnull=False, done_day__lte=F("due_date"))),
    }


def _actions(period: Period, filters: Filters):
    return Action.objects.filter(cohort_q(period, filters, "complaint__")).alias(
        done_day=TruncDate("done_at", tzinfo=LONDON)
    )


@contextmanager
def _reporting_queries():
    """On PostgreSQL, run the report's queries in one read-only transaction with reporting settings.

    ``work_mem``: the grouped queries' group counts cannot be estimated (they group by CASE
    expressions), so with the default 4 MB the planner sorts half a million rows on disk
    instead of hashing a few hundred groups in memory. ``jit``: compiling the expressions
    costs more than it saves on queries of this size. SET LOCAL ends with the transaction.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        yield


def _category_names() -> dict[int, str]:
    return dict(Category.objects.values_list("id", "name"))


def report(period: Period, filters: Filters, today: date | None = None) -> Figures:
    """All figures of the reports page for one period: a fixed number of queries, whatever the number of cases."""
    today = today or business_days.london_today()
    figures = Figures()
    with _reporting_queries():
        _add_groups(figures, _grouped(period, filters, today), _category_names())
        _add_extended(lambda row: figures, _extended(period, filters, today))
        figures.medians = {name: _weighted_median(histogram) for name, histogram in _stage_histograms(period, filters)}
        figures.actions = _actions(period, filters).aggregate(**_action_counts(today))
    return figures


def monthly(period: Period, filters: Filters, today: date | None = None) -> list[tuple[date, Figures]]:
    """The same figures for each month of the period: one grouped query per table, not one per month.

    The trend view asks for the last 12 months (``Period.last_twelve_months``), the annual
    summary for the twelve months of its year.
    """
    today = today or business_days.london_today()
    months = {month: Figures() for month in period.months()}
    with _reporting_queries():
        names = _category_names()
        groups: dict[date, list[dict]] = defaultdict(list)
        for row in _grouped(period, filters, today, by_month=True):
            groups[_as_date(row["month"])].append(row)
        for key, figures in months.items():
            _add_groups(figures, groups.get(key, []), names)
        _add_extended(lambda row: months[_as_date(row["month"])], _extended(period, filters, today, by_month=True))
        per_month: dict[date, dict[str, dict]] = defaultdict(dict)
        for name, histogram in _stage_histograms(period, filters, by_month=True):
            for key, pairs in histogram.items():
                per_month[key][name] = pairs
        actions = list(
            _actions(period, filters)
            .values(month=TruncMonth("complaint__received_at", tzinfo=LONDON))
            .annotate(**_action_counts(today))
            .order_by("month")
        )
    for key, figures in months.items():
        figures.medians = {name: _weighted_median(per_month[key].get(name, {})) for name in STAGES}
        figures.actions = dict.fromkeys(_action_counts(today), 0)
    for row in actions:
        key = _as_date(row.pop("month"))
        months[key].actions = row
    return list(months.items())


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


# --- business days per stage -------------------------------------------------------------------

STAGES = {
    "acknowledgement": "Receipt to acknowledgement",
    "outcome": "Acknowledgement to outcome (time waiting for the client included)",
    "appeal_acknowledgement": "Appeal received to acknowledged",
    "appeal_decision": "Appeal acknowledged to decided",
}


def _clock_start(field_name: str) -> TruncDate:
    """The London date a deadline's clock starts from, up to the next business day (one SQL expression).

    Shifting the moment on by the hours after close of business (6 h 30 for 17:30) moves
    exactly the arrivals after close to the next calendar date; the effective date
    (SPEC.md) is then the first business day on or after that date, which Python takes
    from the calendar. (The shift is in absolute time: it differs from London's clock
    only across a clock change, at night on a Sunday, which is no business day either way.)
    """
    cob = settings.CLOSE_OF_BUSINESS
    shift = timedelta(days=1) - timedelta(hours=cob.hour, minutes=cob.minute)
    return TruncDate(ExpressionWrapper(F(field_name) + shift, output_field=DateTimeField()), tzinfo=LONDON)


def _first_business_day_from(day: date) -> date:
    return day if business_days.is_business_day(day) else business_days.add_business_days(day, 1)


def _business_day_ranks():
    """rank(day): business days from a fixed origin up to ``day``; rank(b) - rank(a) = business days after a up to b.

    Memoised per report: the grouped rows repeat a few hundred distinct dates thousands of times.
    """
    origin = date(2000, 1, 1)

    @cache
    def rank(day: date) -> int:
        return business_days.business_days_between(origin, day)

    return rank


def _stage_histograms(period: Period, filters: Filters, by_month: bool = False) -> Iterable[tuple[str, dict]]:
    """For each stage, {business days: number of cases} (or {month: {days: n}} with ``by_month``).

    Two grouped queries: one over complaints, one over appeals; one row per distinct
    (start date, end date) pair, a number bounded by the calendar.
    """
    complaint_month = {"month": TruncMonth("received_at", tzinfo=LONDON)} if by_month else {}
    complaint_pairs = (
        Complaint.objects.filter(cohort_q(period, filters), acknowledged_at__isnull=False)
        .values(
            **complaint_month,
            started=_clock_start("received_at"),
            acknowledged=TruncDate("acknowledged_at", tzinfo=LONDON),
            responded=TruncDate("responded_at", tzinfo=LONDON),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    # The month of the complaint, which is the month the trend counts the case in.
    appeal_month = {"month": TruncMonth("complaint__received_at", tzinfo=LONDON)} if by_month else {}
    appeal_pairs = (
        Appeal.objects.filter(cohort_q(period, filters, "complaint__"))
        .values(
            **appeal_month,
            started=_clock_start("received_at"),
            acknowledged=TruncDate("acknowledged_at", tzinfo=LONDON),
            decided=TruncDate("decided_at", tzinfo=LONDON),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    histograms: dict[str, dict] = {name: {} for name in STAGES}
    rank = _business_day_ranks()

    def add(stage: str, row: dict, start: date | None, end: date | None) -> None:
        if start is None or end is None:
            return
        days = max(0, rank(end) - rank(start))
        target = histograms[stage].setdefault(_as_date(row["month"]), {}) if by_month else histograms[stage]
        target[days] = target.get(days, 0) + row["n"]

    first_business_day_from = cache(_first_business_day_from)
    for row in complaint_pairs:
        add("acknowledgement", row, first_business_day_from(row["started"]), row["acknowledged"])
        add("outcome", row, row["acknowledged"], row["responded"])
    for row in appeal_pairs:
        add("appeal_acknowledgement", row, first_business_day_from(row["started"]), row["acknowledged"])
        add("appeal_decision", row, row["acknowledged"], row["decided"])
    return histograms.items()


def _weighted_median(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: count}; the mean of the two middle values when even."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())

    def nth(position: int) -> int:  # 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        raise IndexError(position)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


# --- the cases behind a figure (CSV export) ----------------------------------------------------


def cases_for_figure(period: Period, filters: Filters, figure: str, today: date | None = None) -> QuerySet:
    """The complaints counted in one figure (a name of ``EXPORTABLE`` or ``category_<id>``), with their facts."""
    today = today or business_days.london_today()
    cases = counted_complaints(period, filters).annotate(
        ack_day=TruncDate("acknowledged_at", tzinfo=LONDON),
        response_day=TruncDate("responded_at", tzinfo=LONDON),
        appeal_decided_day=TruncDate("appeal__decided_at", tzinfo=LONDON),
        **{f"{name}_state": state for name, state in promise_states(today).items()},
        **{
            f"{name}_extended": Exists(Extension.objects.filter(complaint=OuterRef("pk"), deadline=deadline))
            for name, deadline in PROMISES
        },
    )
    if figure.startswith("category_"):
        raw = figure.removeprefix("category_")
        if raw == "none":
            return cases.filter(category__isnull=True)
        if not raw.isdigit():
            raise KeyError(figure)
        return cases.filter(category_id=int(raw))
    if figure not in EXPORTABLE:
        raise KeyError(figure)
    return cases.filter(figure_conditions()[figure])


EXPORT_COLUMNS = (
    ("reference", "Reference"),
    ("status", "Status"),
    ("channel", "Channel"),
    ("category__name", "Category"),
    ("assignee__username", "Manager"),
    ("received_at", "Received (London)"),
    ("acknowledgement_due", "Acknowledgement due"),
    ("ack_day", "Acknowledged on"),
    ("outcome_due", "Outcome due"),
    ("response_day", "Responded on"),
    ("outcome", "Outcome"),
    ("appeal__decision_due", "Appeal decision due"),
    ("appeal_decided_day", "Appeal decided on"),
    ("appeal__decision", "Appeal decision"),
    ("acknowledgement_state", "Acknowledged on time"),
    ("acknowledgement_extended", "Acknowledgement extended"),
    ("outcome_state", "Answered on time"),
    ("outcome_extended", "Outcome extended"),
    ("appeal_state", "Appeal decided on time"),
    ("appeal_extended", "Appeal decision extended"),
)


def export_rows(cases: QuerySet) -> Iterable[tuple]:
    """Plain tuples in EXPORT_COLUMNS order, streamed from a server-side cursor in chunks."""
    names = [name for name, _ in EXPORT_COLUMNS]
    return cases.order_by("received_at", "pk").values_list(*names).iterator(chunk_size=2000)
