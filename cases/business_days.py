"""The deadline calendar: every "within N business days" of the procedure is computed here.

The rule (docs/specification.md, "the deadline rule"):

* Time zone Europe/London. A business day is Monday to Friday that is neither an
  England & Wales bank holiday (``holidays``, GB/ENG) nor a company closure day
  (``cases.ClosureDay``, edited in the admin).
* The effective date of anything received is its London date if that is a
  business day and it arrived before close of business (``settings.CLOSE_OF_BUSINESS``,
  17:30); otherwise the next business day.
* "Within N business days of X" is due on the Nth business day after the
  effective date of X.

Speed: the calendar is precomputed once per process as two arrays (the sorted
business days, and for every date the count of business days up to it), so each
call is a couple of list look-ups. Closure days are read from the database at
most once every ``REFRESH_SECONDS`` per process, and at once after a change made
in this process.
"""

from __future__ import annotations

import threading
import time as monotonic_clock
from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays
from django.apps import apps
from django.conf import settings
from django.utils import timezone

LONDON = ZoneInfo("Europe/London")
REFRESH_SECONDS = 60.0
# The span precomputed at first; a date outside it widens the span on demand.
_DEFAULT_FIRST_YEAR = 2000
_DEFAULT_LAST_YEAR = 2060


class BusinessCalendar:
    """An immutable business-day calendar over a span of years."""

    def __init__(
        self,
        closures: Iterable[date] = (),
        close_of_business: time = time(17, 30),
        first_year: int = _DEFAULT_FIRST_YEAR,
        last_year: int = _DEFAULT_LAST_YEAR,
    ) -> None:
        self.closures = frozenset(closures)
        self.close_of_business = close_of_business
        self.first_year = min([first_year, *(d.year for d in self.closures)])
        self.last_year = max([last_year, *(d.year for d in self.closures)])
        self.bank_holidays = frozenset(
            holidays.country_holidays("GB", subdiv="ENG", years=range(self.first_year, self.last_year + 1))
        )
        self._origin = date(self.first_year, 1, 1).toordinal()
        end = date(self.last_year, 12, 31).toordinal()
        non_working = self.bank_holidays | self.closures
        business: list[date] = []
        # _rank[i]: number of business days on or before the date with ordinal _origin + i.
        rank: list[int] = []
        for ordinal in range(self._origin, end + 1):
            day = date.fromordinal(ordinal)
            if day.weekday() < 5 and day not in non_working:
                business.append(day)
            rank.append(len(business))
        self._business = business
        self._rank = rank
        self._cob = close_of_business

    # -- look-ups ------------------------------------------------------------

    def _rank_of(self, day: date) -> int:
        index = day.toordinal() - self._origin
        if index < 0 or index >= len(self._rank):
            raise OutOfRange(day)
        return self._rank[index]

    def is_business_day(self, day: date) -> bool:
        index = day.toordinal() - self._origin
        if index < 0 or index >= len(self._rank):
            raise OutOfRange(day)
        return self._rank[index] != (self._rank[index - 1] if index else 0)

    def add_business_days(self, day: date, n: int) -> date:
        """The Nth business day after ``day`` (n >= 1), or before it (n <= -1).

        ``day`` itself never counts, whether or not it is a business day.
        """
        if n == 0:
            raise ValueError("n must not be 0: the 0th business day after a date is not defined")
        rank = self._rank_of(day)
        position = rank + n - 1 if n > 0 else rank - (1 if self.is_business_day(day) else 0) + n
        if position < 0 or position >= len(self._business):
            raise OutOfRange(day)
        return self._business[position]

    def due_date(self, moment: datetime, n: int) -> date:
        """The Nth business day after the effective date of ``moment``.

        The same as ``add_business_days(effective_date(moment), n)``, fused into
        one pass over the arrays because it is the hot path of every deadline.
        """
        if n < 1:
            raise ValueError("a due date needs at least one business day")
        if moment.tzinfo is None:
            raise ValueError("due_date needs an aware datetime")
        local = moment.astimezone(LONDON)
        index = local.toordinal() - self._origin
        rank = self._rank
        if index <= 0 or index >= len(rank):
            raise OutOfRange(local.date())
        here = rank[index]
        if here != rank[index - 1] and local.time() < self._cob:
            position = here + n - 1  # received on a business day before close: counts from today
        else:
            position = here + n  # counts from the next business day
        if position >= len(self._business):
            raise OutOfRange(local.date())
        return self._business[position]

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (negative if end < start)."""
        return self._rank_of(end) - self._rank_of(start)

    def next_business_day(self, day: date) -> date:
        return self.add_business_days(day, 1)

    def effective_date(self, moment: datetime) -> date:
        """The date from which a deadline runs for something received at ``moment``."""
        if moment.tzinfo is None:
            raise ValueError("effective_date needs an aware datetime")
        local = moment.astimezone(LONDON)
        day = local.date()
        if self.is_business_day(day) and local.time() < self.close_of_business:
            return day
        return self.next_business_day(day)


class OutOfRange(ValueError):
    """A date beyond the precomputed span: the module widens the span and retries."""

    def __init__(self, day: date) -> None:
        super().__init__(f"{day.isoformat()} is outside the precomputed calendar")
        self.day = day


# --- The process-wide calendar -------------------------------------------------

_lock = threading.Lock()
_calendar: BusinessCalendar | None = None
_built_at = 0.0
_span = (_DEFAULT_FIRST_YEAR, _DEFAULT_LAST_YEAR)


def _load_closures() -> list[date]:
    # By name from the app registry: the models import this module, so it cannot import them.
    closure_days = apps.get_model("cases", "ClosureDay")
    return list(closure_days.objects.values_list("date", flat=True))


def get_calendar() -> BusinessCalendar:
    """The current calendar, rebuilt when closure days may have changed."""
    global _calendar, _built_at
    calendar = _calendar
    if calendar is not None and monotonic_clock.monotonic() - _built_at < REFRESH_SECONDS:
        return calendar
    with _lock:
        if _calendar is None or monotonic_clock.monotonic() - _built_at >= REFRESH_SECONDS:
            closures = _load_closures()
            # Building is cheap (~20 ms); reuse the bank holidays only if nothing changed.
            if (
                _calendar is None
                or _calendar.closures != frozenset(closures)
                or _span
                != (
                    _calendar.first_year,
                    _calendar.last_year,
                )
            ):
                _calendar = BusinessCalendar(closures, settings.CLOSE_OF_BUSINESS, *_span)
            _built_at = monotonic_clock.monotonic()
        return _calendar


def invalidate() -> None:
    """Forget the cached calendar (closure days or the close of business changed)."""
    global _calendar, _built_at
    with _lock:
        _calendar = None
        _built_at = 0.0


def _widen_to(day: date) -> None:
    global _span
    with _lock:
        _span = (min(_span[0], day.year - 1), max(_span[1], day.year + 1))
    invalidate()


def _with_calendar(function, *args):
    try:
        return function(get_calendar(), *args)
    except OutOfRange as error:
        _widen_to(error.day)
        return function(get_calendar(), *args)


# --- The public API: plain functions, as docs/specification.md names them --------------------


def effective_date(moment: datetime) -> date:
    """London date from which a deadline runs for something received at ``moment``."""
    return _with_calendar(BusinessCalendar.effective_date, moment)


def add_business_days(day: date, n: int) -> date:
    """The Nth business day after ``day`` (or before it, for negative n)."""
    return _with_calendar(BusinessCalendar.add_business_days, day, n)


def is_business_day(day: date) -> bool:
    return _with_calendar(BusinessCalendar.is_business_day, day)


def business_days_between(start: date, end: date) -> int:
    """Business days after ``start`` up to and including ``end``."""
    return _with_calendar(BusinessCalendar.business_days_between, start, end)


def due_date(moment: datetime, n: int) -> date:
    """Due date of something that must happen within ``n`` business days of ``moment``."""
    return _with_calendar(BusinessCalendar.due_date, moment, n)


def london_date(moment: datetime) -> date:
    """The calendar date in London of an aware datetime."""
    return moment.astimezone(LONDON).date()


def london_today() -> date:
    return london_date(timezone.now())


def start_of_london_day(day: date) -> datetime:
    """Midnight in London at the start of ``day``, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=LONDON)


__all__ = [
    "LONDON",
    "BusinessCalendar",
    "add_business_days",
    "business_days_between",
    "due_date",
    "effective_date",
    "get_calendar",
    "invalidate",
    "is_business_day",
    "london_date",
    "london_today",
    "start_of_london_day",
]
