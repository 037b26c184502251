"""The suite's travelling clock (tests/clock.py) and what makes travelling safe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.clock import LONDON, OFFSET_VARIABLE, TRAVEL_SITE, parse_moment

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_FOLDERS = ("accounts", "appeals", "audit", "cases", "notifications", "procedure", "reports", "jpdit_complaints")


def test_a_moment_without_offset_is_london_time():
    assert parse_moment("2026-12-26T10:00") == datetime(2026, 12, 26, 10, 0, tzinfo=LONDON)
    assert parse_moment("2026-07-01T10:00").utcoffset().total_seconds() == 3600  # summer time


def test_a_moment_with_an_offset_is_taken_as_given():
    assert parse_moment("2027-03-28T01:30Z") == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert parse_moment("2027-03-28T01:30Z").astimezone(LONDON).hour == 2


def test_a_london_time_skipped_when_the_clocks_go_forward_is_refused():
    with pytest.raises(pytest.UsageError, match="does not exist in London"):
        parse_moment("2027-03-28T01:30")


def test_a_london_time_repeated_when_the_clocks_go_back_is_refused_with_both_offsets():
    with pytest.raises(pytest.UsageError, match=r"01:30:00\+01:00 or 2026-10-25T01:30:00\+00:00"):
        parse_moment("2026-10-25T01:30")


def test_a_malformed_moment_is_refused():
    with pytest.raises(pytest.UsageError, match="not an ISO 8601 moment"):
        parse_moment("Boxing Day")


def test_a_process_the_tests_start_runs_on_the_same_travelled_clock():
    """tests/travel_site/sitecustomize.py moves a child's clock by the offset it is given."""
    offset = -86400 * 400  # about 400 days back
    env = {**os.environ, OFFSET_VARIABLE: repr(offset), "PYTHONPATH": str(TRAVEL_SITE)}
    result = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"], env=env, capture_output=True, text=True, check=True
    )
    # The machine's clock: this process's, less the offset of its own travel (when run with --at).
    real_now = time.time() - float(os.environ.get(OFFSET_VARIABLE) or 0)
    assert abs(float(result.stdout) - (real_now + offset)) < 30


def test_the_product_never_asks_the_database_for_the_time():
    """PostgreSQL does not travel with the tests (and may disagree with the application servers):
    every time the product uses comes from Python's clock, never from SQL."""
    sql_clock = re.compile(r"\b(now\(\)|current_date|current_timestamp|localtimestamp|clock_timestamp)", re.IGNORECASE)
    orm_clock = re.compile(r"\bNow\(\)")
    offenders = []
    for folder in PRODUCT_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            # timezone.now() is Python's clock: take it out before looking.
            text = text.replace("timezone.now()", "")
            if sql_clock.search(text) or orm_clock.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
