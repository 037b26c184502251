"""Run the whole test session as if it were another moment: ``pytest --at=2026-12-26T10:00``.

The product's promises are dates, so a suite that passes on a Tuesday morning proves little
about a Saturday, a bank holiday, the night the clocks change or 17:31 (a minute after close
of business). ``--at`` (``make test AT=...``) makes time-machine move this process's clock to
that moment at the start of the session; the clock then runs on (``tick=True``), so timeouts,
signed links and session expiry behave as they do in real life.

What travels with it:

* the test processes (the xdist controller and every worker: each one reads the option);
* the product's own processes that tests start (gunicorn, Celery worker and beat, ``manage.py``):
  this module puts ``tests/travel_site`` on their ``PYTHONPATH``, whose ``sitecustomize`` moves
  their clock by the same offset (``JPDIT_TRAVEL_OFFSET``, seconds), so every process agrees
  on the time within milliseconds;
* the live test server of the browser tests (it runs inside the test process).

What cannot travel (the README says so too): PostgreSQL, Redis and Chromium keep the machine's
clock. None of the product's rules reads the database's clock (no ``now()`` in SQL: a test checks
it) and Redis is only given relative expiries, so nothing depends on their time. Chromium's own
clock only matters to cookies, and Django sends ``Max-Age`` with every expiry, which browsers
obey before ``Expires``.

A moment without an offset is London time, and must exist there: 01:30 on the morning the clocks
go forward is refused (write ``2027-03-28T01:30Z`` for the UTC instant), as is an ambiguous one
on the morning they go back.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

LONDON = ZoneInfo("Europe/London")
TRAVEL_SITE = Path(__file__).resolve().parent / "travel_site"
OFFSET_VARIABLE = "JPDIT_TRAVEL_OFFSET"
_TRAVELLER = pytest.StashKey["time_machine.travel"]()
_MOMENT = pytest.StashKey[datetime]()


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment; without an offset it is London time, which must exist and be unambiguous."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise pytest.UsageError(f"--at: {text!r} is not an ISO 8601 moment such as 2026-12-26T10:00") from error
    if moment.tzinfo is not None:
        return moment
    earlier, later = moment.replace(tzinfo=LONDON, fold=0), moment.replace(tzinfo=LONDON, fold=1)
    if earlier.astimezone(ZoneInfo("UTC")).astimezone(LONDON).replace(tzinfo=None) != moment:
        raise pytest.UsageError(
            f"--at: {text} does not exist in London (the clocks go forward that night): "
            "give a UTC moment instead, for example with a Z at the end"
        )
    if earlier.utcoffset() != later.utcoffset():
        raise pytest.UsageError(
            f"--at: {text} happens twice in London (the clocks go back that night): give the offset, "
            f"{earlier.isoformat()} or {later.isoformat()}"
        )
    return earlier


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--at",
        metavar="MOMENT",
        default=os.environ.get("JPDIT_TEST_AT") or None,
        help="run the whole session as if it were this moment (ISO 8601; London time when no offset is given). "
        "Default: $JPDIT_TEST_AT, else the real time.",
    )


def pytest_configure(config: pytest.Config) -> None:
    text = config.getoption("--at")
    if not text:
        return
    moment = parse_moment(text)
    offset = moment.timestamp() - time.time()
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    config.stash[_TRAVELLER] = traveller
    config.stash[_MOMENT] = moment
    # Processes the tests start move their clocks by the same offset (tests/travel_site/sitecustomize.py).
    os.environ[OFFSET_VARIABLE] = repr(offset)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRAVEL_SITE), os.environ.get("PYTHONPATH")]))


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = config.stash.get(_MOMENT, None)
    if moment is None:
        return None
    local = moment.astimezone(LONDON)
    return f"jpdit: the clock travels to {local:%A %-d %B %Y %H:%M:%S %Z} (London), {moment.isoformat()}"


def travelling(config: pytest.Config) -> datetime | None:
    """The moment the session travelled to, or None on the real clock."""
    return config.stash.get(_MOMENT, None)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    moment = travelling(config)
    if moment is not None:
        local = moment.astimezone(LONDON)
        terminalreporter.write_line(f"jpdit: this run's clock started at {local:%a %-d %b %Y %H:%M %Z} (London).")
