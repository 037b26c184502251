"""CSV export of the cases behind a figure: streamed, and safe to open in a spreadsheet.

Streamed: rows come from ``.iterator(chunk_size=2000)`` (a server-side cursor on
PostgreSQL) and each line is written out as soon as it is made, so memory stays
flat whatever the number of rows (bench/reports.py measures it).

Safe: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is one a spreadsheet may run as a formula (CSV injection, OWASP); such a
cell gets a leading single quote, which makes it plain text. Client-typed text
never reaches the export, but category and user names are typed by staff and
are treated the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from cases import business_days
from reports.selectors import EXPORT_COLUMNS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STAGE_COLUMNS = ("Business days to acknowledge", "Business days to outcome")


def neutralise(value) -> str:
    """The cell's text, quoted away from formulas if it could be read as one."""
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return business_days.london_date(value).isoformat() + _clock(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _clock(value: datetime) -> str:
    return " " + value.astimezone(business_days.LONDON).strftime("%H:%M")


class _Echo:
    """A file-like object whose write() hands the line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def _stage_days(row: dict) -> list[str]:
    """Business days each stage took (London dates; the calendar of cases.business_days)."""
    received = row["received_at"]
    acknowledged, responded = row["ack_day"], row["response_day"]
    ack = (
        business_days.business_days_between(business_days.effective_date(received), acknowledged)
        if acknowledged
        else ""
    )
    outcome = business_days.business_days_between(acknowledged, responded) if acknowledged and responded else ""
    return [str(max(0, ack)) if ack != "" else "", str(max(0, outcome)) if outcome != "" else ""]


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """The header, then one CSV line per case."""
    names = [name for name, _ in EXPORT_COLUMNS]
    writer = csv.writer(_Echo())
    yield writer.writerow([label for _, label in EXPORT_COLUMNS] + list(STAGE_COLUMNS))
    for values in rows:
        row = dict(zip(names, values, strict=True))
        yield writer.writerow([neutralise(value) for value in values] + _stage_days(row))
