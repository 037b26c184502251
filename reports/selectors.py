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
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncTime

from appeals.models import Appeal
from cases import business_days
from cases.business_days import LONDON
from cases.models import Action, Complaint, Deadline, Extension

Status = Complaint.Status
Outcome = Complaint.Outcome
FOUND_FAULT = (Outcome.UPHELD, Outcome.PARTIALLY_UPHELD)


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


def _extended(deadline: str) -> Exists:
    return Exists(Extension.objects.filter(complaint=OuterRef("pk"), deadline=deadline))


def complaints_with_facts(period: Period, filters: Filters, *, selected: bool = False) -> QuerySet:
    """The counted complaints, with London dates of what was done and whether it was extended.

    The facts are aliases (computed only where a figure uses them) unless ``selected``
    (the CSV export reads them).
    """
    cases = Complaint.objects.filter(cohort_q(period, filters))
    add = cases.annotate if selected else cases.alias
    return add(
        ack_day=TruncDate("acknowledged_at", tzinfo=LONDON),
        response_day=TruncDate("responded_at", tzinfo=LONDON),
        appeal_decided_day=TruncDate("appeal__decided_at", tzinfo=LONDON),
        ack_extended=_extended(Deadline.ACKNOWLEDGEMENT),
        outcome_extended=_extended(Deadline.OUTCOME),
        appeal_extended=_extended(Deadline.APPEAL_DECISION),
    ).order_by()


def figure_conditions(today: date) -> dict[str, Q]:
    """Each countable figure as a condition on ``complaints_with_facts`` (also what the CSV exports)."""
    ack_done = Q(acknowledged_at__isnull=False)
    responded = Q(responded_at__isnull=False)
    decided = Q(appeal__decided_at__isnull=False)
    conditions = {
        "all": Q(),
        "ack_on_time": ack_done & Q(ack_day__lte=F("acknowledgement_due")),
        "ack_late": (ack_done & Q(ack_day__gt=F("acknowledgement_due")))
        | Q(status=Status.RECEIVED, acknowledgement_due__lt=today),
        "outcome_on_time": responded & Q(response_day__lte=F("outcome_due")),
        "outcome_late": (responded & Q(response_day__gt=F("outcome_due")))
        | Q(status__in=Complaint.CLOCK_RUNNING_STATUSES, outcome_due__lt=today),
        "appeal_on_time": decided & Q(appeal_decided_day__lte=F("appeal__decision_due")),
        "appeal_late": (decided & Q(appeal_decided_day__gt=F("appeal__decision_due")))
        | Q(appeal__status__in=Appeal.DECISION_RUNNING_STATUSES, appeal__decision_due__lt=today),
        "responded": ~Q(outcome=""),
        "appealed": Q(appeal__isnull=False),
        "appeal_decided": Q(appeal__status=Appeal.Status.DECIDED),
        "appeal_changed": Q(appeal__decision=Appeal.Decision.ORIGINAL_DECISION_CHANGED),
    }
    conditions["ack_on_time_extended"] = conditions["ack_on_time"] & Q(ack_extended=True)
    conditions["ack_late_extended"] = conditions["ack_late"] & Q(ack_extended=True)
    conditions["outcome_on_time_extended"] = conditions["outcome_on_time"] & Q(outcome_extended=True)
    conditions["outcome_late_extended"] = conditions["outcome_late"] & Q(outcome_extended=True)
    conditions["appeal_on_time_extended"] = conditions["appeal_on_time"] & Q(appeal_extended=True)
    conditions["appeal_late_extended"] = conditions["appeal_late"] & Q(appeal_extended=True)
    for value in Outcome.values:
        conditions[f"outcome_{value}"] = Q(outcome=value)
    for value in Complaint.Channel.values:
        conditions[f"channel_{value}"] = Q(channel=value)
    return conditions


# Figures whose cases the CSV export can list (category_<id> too, see cases_for_figure).
EXPORTABLE = (
    "all",
    "ack_on_time",
    "ack_late",
    "outcome_on_time",
    "outcome_late",
    "appeal_on_time",
    "appeal_late",
    "responded",
    "appealed",
    "appeal_changed",
    *(f"outcome_{value}" for value in Outcome.values),
    *(f"channel_{value}" for value in Complaint.Channel.values),
)


def _counts(today: date) -> dict[str, Count]:
    return {name: Count("pk", filter=condition) for name, condition in figure_conditions(today).items()}


# --- the figures -------------------------------------------------------------------------------


@dataclass
class Share:
    """Kept / broken promises, and how many of each had their due date extended."""

    on_time: int
    late: int
    on_time_extended: int = 0
    late_extended: int = 0

    @property
    def measured(self) -> int:
        return self.on_time + self.late

    @property
    def percent(self) -> float | None:
        return None if not self.measured else round(100 * self.on_time / self.measured, 1)


@dataclass
class Figures:
    """One period's figures (or one month's, in the trend)."""

    received: int = 0
    by_channel: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)
    by_category: list[dict] = field(default_factory=list)  # id, name, total, fault
    acknowledgement: Share = field(default_factory=lambda: Share(0, 0))
    outcome: Share = field(default_factory=lambda: Share(0, 0))
    appeal: Share = field(default_factory=lambda: Share(0, 0))
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


def _fill(figures: Figures, row: dict) -> None:
    """Copy one aggregate row (the names of figure_conditions) into ``figures``."""
    figures.received = row["all"]
    figures.by_channel = [(value, label, row[f"channel_{value}"]) for value, label in Complaint.Channel.choices]
    figures.outcomes = [(value, label, row[f"outcome_{value}"]) for value, label in Outcome.choices]
    for name in ("ack", "outcome", "appeal"):
        share = Share(
            row[f"{name}_on_time"], row[f"{name}_late"], row[f"{name}_on_time_extended"], row[f"{name}_late_extended"]
        )
        setattr(figures, "acknowledgement" if name == "ack" else name, share)
    figures.responded = row["responded"]
    figures.appealed = row["appealed"]
    figures.appeals_decided = row["appeal_decided"]
    figures.appeals_changed = row["appeal_changed"]


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


def report(period: Period, filters: Filters, today: date | None = None) -> Figures:
    """All figures of the reports page for one period: five queries, whatever the number of cases."""
    today = today or business_days.london_today()
    cases = complaints_with_facts(period, filters)
    figures = Figures()
    _fill(figures, cases.aggregate(**_counts(today)))
    figures.by_category = list(
        cases.values("category_id", "category__name")
        .annotate(total=Count("pk"), fault=Count("pk", filter=Q(outcome__in=FOUND_FAULT)))
        .order_by("-total", "category__name")
    )
    for row in figures.by_category:
        row["id"] = row.pop("category_id")
        row["name"] = row.pop("category__name") or "Not yet categorised"
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
    month_of = TruncMonth("received_at", tzinfo=LONDON)
    for row in (
        complaints_with_facts(period, filters).values(month=month_of).annotate(**_counts(today)).order_by("month")
    ):
        _fill(months[_as_date(row["month"])], row)
    for figures in months.values():
        if not figures.by_channel:  # no complaint that month: zeros, not blanks
            _fill(figures, dict.fromkeys(list(_counts(today)), 0))
    per_month: dict[date, dict[str, list]] = defaultdict(dict)
    for name, histogram in _stage_histograms(period, filters, by_month=True):
        for month, pairs in histogram.items():
            per_month[month][name] = pairs
    for month, figures in months.items():
        figures.medians = {name: _weighted_median(per_month[month].get(name, {})) for name in STAGES}
        figures.actions = dict.fromkeys(_action_counts(today), 0)
    actions = (
        _actions(period, filters)
        .values(month=TruncMonth("complaint__received_at", tzinfo=LONDON))
        .annotate(**_action_counts(today))
        .order_by("month")
    )
    for row in actions:
        month = _as_date(row.pop("month"))
        months[month].actions = row
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


def _received_late(field_name: str) -> Case:
    """Did it arrive after close of business (London)? Then its deadlines ran from the next business day."""
    return Case(
        When(**{f"{field_name}__gte": settings.CLOSE_OF_BUSINESS}, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _stage_histograms(period: Period, filters: Filters, by_month: bool = False) -> Iterable[tuple[str, dict]]:
    """For each stage, {business days: number of cases} (or {month: {days: n}} with ``by_month``).

    Two grouped queries: one over complaints, one over appeals.
    """
    complaint_pairs = (
        Complaint.objects.filter(cohort_q(period, filters), acknowledged_at__isnull=False)
        .alias(received_time=TruncTime("received_at", tzinfo=LONDON))
        .values(
            received=TruncDate("received_at", tzinfo=LONDON),
            after_hours=_received_late("received_time"),
            acknowledged=TruncDate("acknowledged_at", tzinfo=LONDON),
            responded=TruncDate("responded_at", tzinfo=LONDON),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    appeal_pairs = (
        Appeal.objects.filter(cohort_q(period, filters, "complaint__"))
        .alias(received_time=TruncTime("received_at", tzinfo=LONDON))
        .values(
            received_on=TruncDate("received_at", tzinfo=LONDON),
            after_hours=_received_late("received_time"),
            acknowledged=TruncDate("acknowledged_at", tzinfo=LONDON),
            decided=TruncDate("decided_at", tzinfo=LONDON),
            # The month of the complaint, which is the month the trend counts the case in.
            received=TruncDate("complaint__received_at", tzinfo=LONDON),
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    histograms: dict[str, dict] = {name: {} for name in STAGES}

    def add(stage: str, month: date, start: date | None, end: date | None, n: int) -> None:
        if start is None or end is None:
            return
        days = max(0, business_days.business_days_between(start, end))
        target = histograms[stage].setdefault(month, {}) if by_month else histograms[stage]
        target[days] = target.get(days, 0) + n

    def effective(day: date, after_hours: bool) -> date:
        # The London date the clock started (SPEC.md's effective date), from the grouped date and flag.
        if business_days.is_business_day(day) and not after_hours:
            return day
        return business_days.add_business_days(day, 1)

    for row in complaint_pairs:
        month = row["received"].replace(day=1)
        start = effective(row["received"], row["after_hours"])
        add("acknowledgement", month, start, row["acknowledged"], row["n"])
        add("outcome", month, row["acknowledged"], row["responded"], row["n"])
    for row in appeal_pairs:
        month = row["received"].replace(day=1)
        start = effective(row["received_on"], row["after_hours"])
        add("appeal_acknowledgement", month, start, row["acknowledged"], row["n"])
        add("appeal_decision", month, row["acknowledged"], row["decided"], row["n"])
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
    """The complaints counted in one figure (a name of ``EXPORTABLE`` or ``category_<id>``)."""
    today = today or business_days.london_today()
    conditions = figure_conditions(today)
    cases = complaints_with_facts(period, filters, selected=True).annotate(
        **{
            # "yes" kept, "no" broken (late, or overdue and still owed), "" not due yet or nothing owed.
            f"{name}_on_time_flag": Case(
                When(conditions[f"{name}_on_time"], then=Value("yes")),
                When(conditions[f"{name}_late"], then=Value("no")),
                default=Value(""),
                output_field=CharField(),
            )
            for name in ("ack", "outcome", "appeal")
        }
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
    return cases.filter(conditions[figure])


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
    ("ack_on_time_flag", "Acknowledged on time"),
    ("ack_extended", "Acknowledgement extended"),
    ("outcome_on_time_flag", "Outcome on time"),
    ("outcome_extended", "Outcome extended"),
    ("appeal_on_time_flag", "Appeal decided on time"),
    ("appeal_extended", "Appeal decision extended"),
)


def export_rows(cases: QuerySet) -> Iterable[tuple]:
    """Plain tuples in EXPORT_COLUMNS order, streamed from a server-side cursor in chunks."""
    names = [name for name, _ in EXPORT_COLUMNS]
    return cases.order_by("received_at", "pk").values_list(*names).iterator(chunk_size=2000)
