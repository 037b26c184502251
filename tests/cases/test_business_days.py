"""The deadline rule of docs/specification.md: worked examples, edge cases and properties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from cases import business_days
from cases.business_days import BusinessCalendar, add_business_days, effective_date
from tests.factories import ClosureDayFactory

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC

# One calendar without closure days, for the properties (no database needed).
CALENDAR = BusinessCalendar(close_of_business=dt.time(17, 30))
days = st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2055, 12, 31))
counts = st.integers(min_value=1, max_value=400)


def london(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


# --- the worked examples of docs/specification.md -------------------------------------------------


@pytest.mark.django_db
def test_christmas_eve_complaint_is_acknowledged_by_wednesday_30_december():
    received = london(2026, 12, 24, 10, 0)
    assert effective_date(received) == dt.date(2026, 12, 24)
    assert business_days.due_date(received, 2) == dt.date(2026, 12, 30)


@pytest.mark.django_db
def test_acknowledged_on_christmas_eve_outcome_is_due_tuesday_12_january():
    assert business_days.due_date(london(2026, 12, 24, 10, 0), 10) == dt.date(2027, 1, 12)


@pytest.mark.django_db
def test_friday_evening_complaint_runs_from_monday():
    received = london(2026, 11, 27, 18, 0)
    assert effective_date(received) == dt.date(2026, 11, 30)
    assert business_days.due_date(received, 2) == dt.date(2026, 12, 2)


# --- the edges of the effective-date rule --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (london(2026, 11, 24, 17, 29, 59), dt.date(2026, 11, 24)),  # just before close of business
        (london(2026, 11, 24, 17, 30, 0), dt.date(2026, 11, 25)),  # at close of business: next day
        (london(2026, 11, 24, 0, 0, 0), dt.date(2026, 11, 24)),  # just after midnight
        (london(2026, 11, 28, 9, 0), dt.date(2026, 11, 30)),  # Saturday
        (london(2026, 12, 25, 9, 0), dt.date(2026, 12, 29)),  # Christmas Day, then Boxing Day substitute
        (london(2027, 3, 26, 9, 0), dt.date(2027, 3, 30)),  # Good Friday, then Easter Monday
    ],
)
def test_effective_date_edges(moment, expected):
    assert effective_date(moment) == expected


@pytest.mark.django_db
def test_effective_date_uses_london_time_not_utc():
    # 17:00 UTC in summer is 18:00 in London: after close of business.
    assert effective_date(dt.datetime(2027, 6, 1, 17, 0, tzinfo=UTC)) == dt.date(2027, 6, 2)
    # 17:00 UTC in winter is 17:00 in London: before close of business.
    assert effective_date(dt.datetime(2027, 1, 5, 17, 0, tzinfo=UTC)) == dt.date(2027, 1, 5)


@pytest.mark.django_db
def test_close_of_business_is_a_setting(settings):
    settings.CLOSE_OF_BUSINESS = dt.time(16, 0)
    business_days.invalidate()
    assert effective_date(london(2026, 11, 24, 16, 30)) == dt.date(2026, 11, 25)


def test_effective_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="aware"):
        CALENDAR.effective_date(dt.datetime(2026, 11, 24, 10, 0))


# --- closure days ---------------------------------------------------------------------


@pytest.mark.django_db
def test_company_closure_day_is_not_a_business_day():
    assert add_business_days(dt.date(2026, 12, 30), 1) == dt.date(2026, 12, 31)
    ClosureDayFactory(date=dt.date(2026, 12, 31))
    assert add_business_days(dt.date(2026, 12, 30), 1) == dt.date(2027, 1, 4)
    assert not business_days.is_business_day(dt.date(2026, 12, 31))


@pytest.mark.django_db
def test_calendar_makes_no_database_query_per_call():
    add_business_days(dt.date(2026, 1, 5), 1)  # warm the cache
    with CaptureQueriesContext(connection) as queries:
        for offset in range(200):
            add_business_days(dt.date(2026, 1, 5) + dt.timedelta(days=offset), 10)
            effective_date(london(2026, 3, 2, 9, 0) + dt.timedelta(hours=offset))
    assert len(queries) == 0


@pytest.mark.django_db
def test_dates_far_outside_the_precomputed_span_still_work():
    assert add_business_days(dt.date(2099, 12, 30), 2) == dt.date(2100, 1, 4)
    assert add_business_days(dt.date(1995, 1, 2), 1) == dt.date(1995, 1, 3)


def test_zero_business_days_is_refused():
    with pytest.raises(ValueError, match="must not be 0"):
        CALENDAR.add_business_days(dt.date(2026, 11, 24), 0)


def test_negative_counts_go_back_to_earlier_business_days():
    # One business day before Tuesday 29 Dec 2026 is Thursday 24 Dec (bank holidays between).
    assert CALENDAR.add_business_days(dt.date(2026, 12, 29), -1) == dt.date(2026, 12, 24)
    # From a Sunday, the previous business day is the Friday.
    assert CALENDAR.add_business_days(dt.date(2026, 11, 29), -1) == dt.date(2026, 11, 27)


def test_business_days_between_counts_days_after_start_up_to_end():
    assert CALENDAR.business_days_between(dt.date(2026, 12, 24), dt.date(2026, 12, 30)) == 2
    assert CALENDAR.business_days_between(dt.date(2026, 12, 30), dt.date(2026, 12, 24)) == -2
    assert CALENDAR.business_days_between(dt.date(2026, 11, 24), dt.date(2026, 11, 24)) == 0


# --- properties -------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(day=days, n=counts)
def test_result_is_always_a_business_day(day, n):
    result = CALENDAR.add_business_days(day, n)
    assert result.weekday() < 5
    assert result not in CALENDAR.bank_holidays
    assert CALENDAR.is_business_day(result)


@settings(max_examples=500, deadline=None)
@given(day=days, m=counts, n=counts)
def test_adding_m_then_n_equals_adding_m_plus_n(day, m, n):
    assert CALENDAR.add_business_days(CALENDAR.add_business_days(day, m), n) == CALENDAR.add_business_days(day, m + n)


@settings(max_examples=500, deadline=None)
@given(first=days, second=days, n=counts)
def test_results_never_go_backwards(first, second, n):
    earlier, later = sorted((first, second))
    assert CALENDAR.add_business_days(earlier, n) <= CALENDAR.add_business_days(later, n)
    assert CALENDAR.add_business_days(earlier, n) < CALENDAR.add_business_days(earlier, n + 1)


@settings(max_examples=300, deadline=None)
@given(day=days, n=counts)
def test_exactly_n_business_days_lie_between_a_day_and_its_deadline(day, n):
    assert CALENDAR.business_days_between(day, CALENDAR.add_business_days(day, n)) == n


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2055, 12, 1), timezones=st.just(LONDON)
    )
)
def test_effective_date_is_a_business_day_never_before_arrival(moment):
    result = CALENDAR.effective_date(moment)
    assert CALENDAR.is_business_day(result)
    assert result >= moment.astimezone(LONDON).date()
    assert (result - moment.astimezone(LONDON).date()).days <= 10


@settings(max_examples=500, deadline=None)
@given(
    moment=st.datetimes(
        min_value=dt.datetime(2001, 1, 2), max_value=dt.datetime(2055, 12, 1), timezones=st.just(LONDON)
    ),
    n=counts,
)
def test_fused_due_date_agrees_with_effective_date_plus_business_days(moment, n):
    assert CALENDAR.due_date(moment, n) == CALENDAR.add_business_days(CALENDAR.effective_date(moment), n)
