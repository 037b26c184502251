"""The summary of past months: what reports.selectors reads instead of half a million rows.

Each complete London month is kept as tallies (reports.tally) per channel, category
and manager (``SummaryCell``). A month is used only while it is *fresh*:

* it was built (``SummaryMonth.built_at``);
* nothing about its complaints was written since: no ``ChangedMonth`` row names it.
  Triggers on the complaint, appeal, action and extension tables add those rows
  (reports/migrations/0002), whoever writes: a late appeal on a closed complaint,
  an action done months later, a reassignment, a category merged into another,
  anonymisation, the admin, a bulk update;
* its business days were counted with the calendar in force now: the fingerprint of
  the bank holidays and closure days between the dates it used is the one kept
  (a closure day added in the admin, a new bank holiday in the ``holidays`` package).

Anything not fresh, the current month and the part-months of a custom period are
counted live, with the same code; the two add up to the same figures (tests/reports/
test_summary.py checks it after each kind of change). Category and manager names are
never kept: a renamed category shows its new name at once.

``refresh`` (the beat task reports.tasks.refresh_report_summary, every few minutes)
builds what is missing or stale. Building a month deletes its ``ChangedMonth`` rows
first and counts afterwards, in one transaction: a change committed before the
delete is counted, and one committed later leaves its own row, so the month is built
again on the next run and read live meanwhile. Nothing is ever served stale.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from cases import business_days
from cases.business_days import BusinessCalendar
from cases.models import Complaint
from reports import tally
from reports.models import ChangedMonth, SummaryCell, SummaryMonth

logger = logging.getLogger(__name__)
DIMENSIONS = ("channel", "category_id", "assignee_id")
# The key of the PostgreSQL advisory lock that keeps two refreshes from running at once.
REFRESH_LOCK = 0x4A504452  # "JPDR"


# --- months ------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def complete_months(first: date, last: date, today: date) -> list[date]:
    """The months wholly inside [first, last] that ended before ``today``: the only ones ever kept."""
    out, month = [], month_start(first) if first.day == 1 else next_month(first)
    while next_month(month) - timedelta(days=1) <= last and next_month(month) <= today:
        out.append(month)
        month = next_month(month)
    return out


def month_range(month: date) -> Q:
    return Q(
        received_at__gte=business_days.start_of_london_day(month),
        received_at__lt=business_days.start_of_london_day(next_month(month)),
    )


# --- the calendar's fingerprint -----------------------------------------------------------------


def calendar_digest(calendar: BusinessCalendar | None, first: date | None, last: date | None) -> str:
    """A fingerprint of what makes a business day between two dates (weekdays off, close of business)."""
    if calendar is None:
        return ""
    days_off = (
        sorted(day for day in calendar.bank_holidays | calendar.closures if first <= day <= last and day.weekday() < 5)
        if first and last
        else []
    )
    text = f"{settings.CLOSE_OF_BUSINESS.isoformat()}|" + ",".join(day.isoformat() for day in days_off)
    return hashlib.sha256(text.encode()).hexdigest()


# --- reading ---------------------------------------------------------------------------------------


def fresh_months(months: list[date]) -> set[date]:
    """Those of ``months`` whose kept tallies are up to date (see the module's docstring). One query."""
    if not months:
        return set()
    calendar = business_days.get_calendar()
    rows = (
        SummaryMonth.objects.filter(month__in=months, built_at__isnull=False)
        .exclude(Exists(ChangedMonth.objects.filter(month=OuterRef("month"))))
        .values_list("month", "calendar_from", "calendar_until", "calendar_digest")
    )
    return {month for month, first, last, digest in rows if digest == calendar_digest(calendar, first, last)}


def cells(months: Iterable[date], *, category_id=None, channel="", assignee_id=None) -> Iterable[tuple[date, dict]]:
    """(month, tally) of every kept cell of these months that matches the filters. One query."""
    months = list(months)
    if not months:
        return []
    conditions = {"month__in": months}
    if category_id:
        conditions["category_id"] = category_id
    if channel:
        conditions["channel"] = channel
    if assignee_id:
        conditions["assignee_id"] = assignee_id
    return SummaryCell.objects.filter(**conditions).values_list("month", "tally").iterator(chunk_size=5000)


# --- building ---------------------------------------------------------------------------------------


def build_month(month: date) -> int:
    """Count one month again and keep its tallies; returns the number of cells. One transaction."""
    month = month_start(month)
    with transaction.atomic():
        SummaryMonth.objects.get_or_create(month=month)
        SummaryMonth.objects.select_for_update().get(month=month)  # one builder per month at a time
        # First forget the changes seen so far, then count: see the module's docstring.
        ChangedMonth.objects.filter(month=month).delete()
        counted = tally.count(
            lambda prefix: _prefixed(month_range(month), prefix) & tally.complaints_counted(prefix), by=DIMENSIONS
        )
        SummaryCell.objects.filter(month=month).delete()
        SummaryCell.objects.bulk_create(
            [
                SummaryCell(month=month, channel=channel, category_id=category_id, assignee_id=assignee_id, tally=t)
                for (channel, category_id, assignee_id), t in counted.tallies.items()
            ],
            batch_size=2000,
        )
        SummaryMonth.objects.filter(month=month).update(
            built_at=timezone.now(),
            calendar_from=counted.calendar_from,
            calendar_until=counted.calendar_until,
            calendar_digest=calendar_digest(counted.calendar, counted.calendar_from, counted.calendar_until),
        )
    return len(counted.tallies)


def _prefixed(condition: Q, prefix: str) -> Q:
    """``condition`` (lookups AND-ed, as ``spans_q`` builds it) on a related model reached through ``prefix``."""
    lookups: list[tuple[str, object]] = list(condition.children)  # type: ignore[arg-type]  # only (lookup, value)s
    return Q(**{f"{prefix}{lookup}": value for lookup, value in lookups})


def refresh(*, today: date | None = None, time_budget: float = 120.0) -> list[date]:
    """Build every complete month not fresh in the summary, newest first; returns the months built.

    At least one month per run; no new month once ``time_budget`` seconds have gone (the next
    run goes on).
    Changes logged for months that are never kept (the current one) are dropped.
    One refresh at a time: on PostgreSQL a second one returns at once.
    """
    today = today or business_days.london_today()
    built: list[date] = []
    with _refresh_lock() as locked:
        if not locked:
            return built
        this_month = month_start(today)
        ChangedMonth.objects.filter(month__gte=this_month).delete()
        months = _months_with_data(this_month)
        fresh = fresh_months(months)
        started = time.monotonic()
        for month in sorted(set(months) - fresh, reverse=True):
            build_month(month)
            built.append(month)
            if time.monotonic() - started > time_budget:
                break
    if built:
        logger.info("reports summary: built %d month(s), %s to %s", len(built), built[-1], built[0])
    return built


def _months_with_data(this_month: date) -> list[date]:
    """Every month from the first complaint's (or the first kept) up to the one before ``this_month``."""
    first_received = Complaint.objects.aggregate(first=Min("received_at"))["first"]
    first_kept = SummaryMonth.objects.aggregate(first=Min("month"))["first"]
    starts = [m for m in (first_kept, first_received and month_start(business_days.london_date(first_received))) if m]
    if not starts:
        return []
    months, month = [], min(starts)
    while month < this_month:
        months.append(month)
        month = next_month(month)
    return months


@contextmanager
def _refresh_lock():
    if connection.vendor != "postgresql":
        yield True  # SQLite: one writer at a time anyway, and a laptop runs one beat
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFRESH_LOCK])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [REFRESH_LOCK])
