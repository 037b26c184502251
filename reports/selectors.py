"""Every figure of the reports (issue 6), computed by the database.

Who is counted: the complaints *received* in the period (London dates) that match
the filters (category, channel, manager). Everything else follows those
complaints, whenever it happened: their acknowledgement, their outcome, their
appeal and the actions promised to them. A month's figures therefore never
change meaning when a later month is added, and a case is in exactly one month
of the trend.

"On time" is the procedure's rule (docs/specification.md): done on or before the due date *in
force* (the one on the row now, after any extension), comparing London dates.
A promise still owed whose due date has passed is late; one still owed and not
yet due is neither, and is left out of the share. A case withdrawn before a
promise fell due owes nothing. Extensions (``cases.Extension`` rows) are counted
separately ("of which extended"), so an extended promise kept is visible as such.
The rule is written once, in ``reports.tally.Promise``.

How: the complaints are counted into tallies (``reports.tally``: grouped queries,
medians of business days from the distinct date pairs, nothing looped over per
case). Complete months are kept in the summary (``reports.summary``) as tallies per
channel, category and manager, and read from there while they are fresh; the rest
of the period (the current month, part-months, a month changed since it was kept)
is counted live. Tallies add up and do not depend on the day, so both give the same
figures; ``figures_from`` turns the sum into the page's figures on the day asked.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncDate

from appeals.models import Appeal
from cases import business_days
from cases.business_days import LONDON
from cases.models import Category, Complaint, Extension, RootCause
from reports import summary
from reports.tally import LATE, ON_TIME, PROMISES, STAGES, Tally, complaints_counted, count
from satisfaction import selectors as survey_selectors

Status = Complaint.Status
Outcome = Complaint.Outcome
UNCATEGORISED = "Not yet categorised"
NO_ROOT_CAUSE = "No root cause recorded"


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
    return spans_q([(period.first, period.last)], filters, prefix)


def spans_q(spans: list[tuple[date, date]], filters: Filters, prefix: str = "") -> Q:
    """The complaints received on the London days of any of ``spans`` (first, last) that match the filters."""
    received = Q()
    for first, last in spans:
        received |= Q(
            **{
                f"{prefix}received_at__gte": business_days.start_of_london_day(first),
                f"{prefix}received_at__lt": business_days.start_of_london_day(last + timedelta(days=1)),
            }
        )
    conditions: dict[str, object] = {}
    if filters.category_id:
        conditions[f"{prefix}category_id"] = filters.category_id
    if filters.channel:
        conditions[f"{prefix}channel"] = filters.channel
    if filters.manager_id:
        conditions[f"{prefix}assignee_id"] = filters.manager_id
    # A case a lead closed without an outcome (not a complaint, a merged duplicate) is out of every figure.
    return received & Q(**conditions) & complaints_counted(prefix)


# --- the promises' states on a day (the CSV export's columns and filters) -------------------------


def promise_states(today: date, prefix: str = "") -> dict:
    """Each promise's state per complaint on ``today``: ON_TIME, LATE or "" (not due yet, or nothing owed)."""
    return {promise.name: promise.state(today, prefix) for promise in PROMISES}


def counted_complaints(period: Period, filters: Filters) -> QuerySet:
    return Complaint.objects.filter(cohort_q(period, filters)).order_by()


def figure_conditions() -> dict[str, Q]:
    """Each figure whose cases can be exported, as a condition on ``cases_for_figure``'s queryset."""
    conditions = {
        "all": Q(),
        "responded": ~Q(outcome=""),
        "withdrawn": Q(status=Complaint.Status.WITHDRAWN),
        "appealed": Q(appeal__isnull=False),
        "appeal_changed": Q(appeal__decision=Appeal.Decision.ORIGINAL_DECISION_CHANGED),
    }
    for promise in PROMISES:
        short = "ack" if promise.name == "acknowledgement" else promise.name
        conditions[f"{short}_on_time"] = Q(**{f"{promise.name}_state": ON_TIME})
        conditions[f"{short}_late"] = Q(**{f"{promise.name}_state": LATE})
    for value in Outcome.values:
        # The outcome in force: the Director's where the appeal changed it (as reports.tally counts it).
        conditions[f"outcome_{value}"] = Q(appeal__new_outcome=value) | (
            Q(outcome=value) & (Q(appeal__isnull=True) | Q(appeal__new_outcome=""))
        )
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

    def count(self, state: str, n: int, *, extended: bool = False) -> None:
        """Add ``n`` promises in ``state`` ("on_time" or "late"); ``extended``: to the "of which extended" column."""
        name = f"{state}_extended" if extended else state
        setattr(self, name, getattr(self, name) + n)


@dataclass
class Figures:
    """One period's figures (or one month's, in the trend)."""

    received: int = 0
    by_channel: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)
    by_category: list[dict] = field(default_factory=list)  # id, name, total, fault
    by_root_cause: list[dict] = field(default_factory=list)  # id, name, total (complaints with an outcome)
    acknowledgement: Share = field(default_factory=Share)
    outcome: Share = field(default_factory=Share)
    appeal: Share = field(default_factory=Share)
    outcomes: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, count)
    responded: int = 0
    withdrawn: int = 0
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
    def top_categories_at_fault(self) -> list[dict]:
        """Categories by the number of complaints upheld in full or in part (what went wrong most)."""
        found = [row for row in self.by_category if row["fault"]]
        return sorted(found, key=lambda row: (-row["fault"], row["name"]))[:5]

    @property
    def top_root_causes(self) -> list[dict]:
        """The root causes recorded most often with the outcomes (those recorded without one left out)."""
        return [row for row in self.by_root_cause if row["id"] is not None][:5]


def figures_from(
    tally: Tally, today: date, names: dict[int, str], cause_names: dict[int, str] | None = None
) -> Figures:
    """The figures of a tally on ``today``: what is still owed is late once its due date has passed."""
    figures = Figures(
        received=tally["received"],
        by_channel=[(value, label, tally[f"channel:{value}"]) for value, label in Complaint.Channel.choices],
        outcomes=[(value, label, tally[f"result:{value}"]) for value, label in Outcome.choices],
        responded=tally["responded"],
        withdrawn=tally["withdrawn"],
        appealed=tally["appealed"],
        appeals_decided=tally["appeals_decided"],
        appeals_changed=tally["appeals_changed"],
    )
    shares = {promise.name: getattr(figures, promise.name) for promise in PROMISES}
    categories: list[dict] = []
    causes: list[dict] = []
    histograms: dict[str, dict[int, int]] = {name: {} for name in STAGES}
    actions = {"total": 0, "open": 0, "overdue": 0, "done": 0, "done_on_time": 0}
    today_iso = today.isoformat()
    for key, n in tally.items():
        kind, _, rest = key.partition(":")
        # <promise>:on_time | late | owed:<due>, and the same + ":extended" for the extended ones
        # among them (reports.tally counts those apart, from the Extension rows).
        if kind in shares:
            extended = rest.endswith(":extended")
            state, _, due = rest.removesuffix(":extended").partition(":")
            if state == "owed":
                state = "late" if due < today_iso else ""  # not due yet: in neither column
            if state:
                shares[kind].count(state, n, extended=extended)
        elif kind == "category":
            category_id = None if rest == "none" else int(rest)
            categories.append(
                {
                    "id": category_id,
                    "name": names.get(category_id, UNCATEGORISED) if category_id is not None else UNCATEGORISED,
                    "total": n,
                    "fault": tally[f"fault:{rest}"],
                }
            )
        elif kind == "cause":
            cause_id = None if rest == "none" else int(rest)
            known = (cause_names or {}).get(cause_id, "") if cause_id is not None else ""
            causes.append({"id": cause_id, "name": known or NO_ROOT_CAUSE, "total": n})
        elif kind == "stage":
            stage, _, days = rest.partition(":")
            histograms[stage][int(days)] = n
        elif kind == "actions":
            actions["total"] += n
            if rest.startswith("open:"):
                actions["overdue" if rest.removeprefix("open:") < today_iso else "open"] += n
            else:
                actions["done"] += n
                actions["done_on_time"] += n if rest == "on_time" else 0
    figures.by_category = sorted(categories, key=lambda row: (-row["total"], row["name"]))
    figures.by_root_cause = sorted(causes, key=lambda row: (-row["total"], row["name"]))
    figures.medians = {name: _weighted_median(histogram) for name, histogram in histograms.items()}
    figures.actions = actions
    return figures


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


def _names() -> tuple[dict[int, str], dict[int, str]]:
    """The names of the categories and of the root causes, read when the figures are (one query: a union)."""
    kind = CharField()
    categories = (
        Category.objects.order_by()
        .annotate(kind=Value("category", output_field=kind))
        .values_list("kind", "id", "name")
    )
    causes = (
        RootCause.objects.order_by().annotate(kind=Value("cause", output_field=kind)).values_list("kind", "id", "name")
    )
    found: dict[str, dict[int, str]] = {"category": {}, "cause": {}}
    for what, pk, name in categories.union(causes, all=True):
        found[what][pk] = name
    return found["category"], found["cause"]


# How many lessons the reports page lists (the newest outcomes first); the CSV carries them all.
LESSONS_SHOWN = 50


def lessons(period: Period, filters: Filters) -> list[dict]:
    """What we learned from the complaints of the period (received in it, with the filters): each outcome's
    lesson and each changed appeal decision's, newest outcome first, with its root cause in force."""
    rows = (
        counted_complaints(period, filters)
        .filter(Q(lesson__gt="") | Q(appeal__new_lesson__gt=""))
        .annotate(cause=Coalesce("appeal__new_root_cause__name", "root_cause__name"))
        .order_by("-responded_at", "-pk")
        .values("reference", "responded_at", "cause", "lesson", "appeal__new_lesson")[:LESSONS_SHOWN]
    )
    return [
        {
            "reference": row["reference"],
            "responded_at": row["responded_at"],
            "cause": row["cause"] or NO_ROOT_CAUSE,
            "lesson": row["lesson"],
            "appeal_lesson": row["appeal__new_lesson"] or "",
        }
        for row in rows
    ]


def satisfaction(period: Period, filters: Filters) -> survey_selectors.Results:
    """The satisfaction survey's results for the complaints the report counts (``satisfaction.selectors``)."""
    return survey_selectors.results(cohort_q(period, filters, "complaint__"))


def _tallies(
    period: Period, filters: Filters, today: date, *, by_month: bool, use_summary: bool
) -> dict[date | None, Tally]:
    """The period's tally (key None), or one per month: kept months from the summary, the rest counted live."""
    months = summary.complete_months(period.first, period.last, today) if use_summary else []
    kept = summary.fresh_months(months)
    out: dict[date | None, Tally] = defaultdict(Tally)
    for month, tally in summary.cells(
        kept, category_id=filters.category_id, channel=filters.channel, assignee_id=filters.manager_id
    ):
        out[month if by_month else None].update(tally)
    # One count per run of days counted live, not one count of their union: a single range of
    # receipt times is an index-only scan of the reports' covering index; an OR of ranges makes
    # PostgreSQL read the rows themselves (bitmap heap scans), several times slower.
    for span in _spans_without(period, kept):
        counted = count(partial(_span_cohort, span, filters), by=("month",) if by_month else ())
        for key, tally in counted.tallies.items():
            out[key[0] if by_month else None].update(tally)
    return out


def _spans_without(period: Period, months: set[date]) -> list[tuple[date, date]]:
    """The runs of days of the period outside ``months`` (complete months inside it)."""
    spans, day = [], period.first
    for month in sorted(months):
        if day < month:
            spans.append((day, month - timedelta(days=1)))
        day = summary.next_month(month)
    if day <= period.last:
        spans.append((day, period.last))
    return spans


def report(period: Period, filters: Filters, today: date | None = None, *, use_summary: bool = True) -> Figures:
    """All figures of the reports page for one period: a fixed number of queries, whatever the number of cases.

    ``use_summary=False`` counts every month live (what the summary is checked against).
    """
    today = today or business_days.london_today()
    with _reporting_queries():
        tally = _tallies(period, filters, today, by_month=False, use_summary=use_summary).get(None, Tally())
        names, cause_names = _names()
    return figures_from(tally, today, names, cause_names)


def monthly(
    period: Period, filters: Filters, today: date | None = None, *, use_summary: bool = True
) -> list[tuple[date, Figures]]:
    """The same figures for each month of the period, from the same queries as ``report``.

    The trend view asks for the last 12 months (``Period.last_twelve_months``), the annual
    summary for the twelve months of its year.
    """
    today = today or business_days.london_today()
    with _reporting_queries():
        tallies = _tallies(period, filters, today, by_month=True, use_summary=use_summary)
        names, cause_names = _names()
    return [(month, figures_from(tallies.get(month, Tally()), today, names, cause_names)) for month in period.months()]


def _weighted_median(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: count}; the mean of the two middle values when even."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())

    def nth(position: int) -> int:  # 0-based
        seen = 0
        for value, count_ in ordered:
            seen += count_
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
        root_cause_now=Coalesce("appeal__new_root_cause__name", "root_cause__name"),
        **{f"{name}_state": state for name, state in promise_states(today).items()},
        **{
            f"{promise.name}_extended": Exists(
                Extension.objects.filter(complaint=OuterRef("pk"), deadline=promise.deadline)
            )
            for promise in PROMISES
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
    ("root_cause_now", "Root cause"),
    ("lesson", "What we learned"),
    ("appeal__new_lesson", "What we learned on appeal"),
    # The client's answers to the satisfaction survey, 1-5 (never the comment: client-typed text stays out).
    ("survey__fair", "Survey: handled fairly (1-5)"),
    ("survey__informed", "Survey: kept informed (1-5)"),
    ("survey__clear", "Survey: reasons clear (1-5)"),
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


def _span_cohort(span, filters: Filters, prefix: str) -> Q:
    """The complaints received in one run of days, with the filters: a ``Cohort`` for ``count``."""
    return spans_q([span], filters, prefix)
