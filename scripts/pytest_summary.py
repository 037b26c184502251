"""pytest plugin loaded by `make test` (``-p scripts.pytest_summary``).

* Tests that need a shared service or start processes (markers ``redis``, ``worker``,
  ``browser``, ``stack``, ``imap``) run one after another on a single xdist worker: they share a Redis
  database and spawn Celery workers, Chromium or the whole stack, which must not race each other.
* At the end it prints one line saying how many tests ran and what was skipped, grouped
  by reason, so a laptop run without PostgreSQL or Redis says plainly what it left out.
* With ``JPDIT_REQUIRE_SERVICES=1`` (set by ``.ci/run``) the run fails if anything was
  skipped or if no test of a service marker actually ran: the CI must prove the
  PostgreSQL, Redis, real-worker, browser and whole-stack paths, not pass around them.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

SERVICE_MARKERS = ("postgres", "redis", "worker", "browser", "stack", "imap")
SERIAL_MARKERS = ("redis", "worker", "browser", "stack", "imap")
SERIAL_GROUP = "services"


def _strict() -> bool:
    return os.environ.get("JPDIT_REQUIRE_SERVICES") == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in SERIAL_MARKERS):
            item.add_marker(pytest.mark.xdist_group(SERIAL_GROUP))


class Tally:
    """Counts outcomes on the controlling process (xdist forwards every report to it)."""

    def __init__(self) -> None:
        self.ran = 0
        self.skip_reasons: Counter[str] = Counter()
        self.ran_by_marker: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skip_reasons[_skip_reason(report)] += 1
        elif report.when == "call":
            self.ran += 1
            for name in SERVICE_MARKERS:
                if name in report.keywords:
                    self.ran_by_marker[name] += 1

    def lines(self) -> list[str]:
        skipped = sum(self.skip_reasons.values())
        if not skipped:
            head = f"jpdit: {self.ran} tests ran, none skipped."
        else:
            head = f"jpdit: {self.ran} tests ran, {skipped} SKIPPED: " + "; ".join(
                f"{count} x {reason}" for reason, count in self.skip_reasons.most_common()
            )
        by_marker = ", ".join(f"{name} {self.ran_by_marker[name]}" for name in SERVICE_MARKERS)
        return [head, f"jpdit: service tests that ran: {by_marker}."]

    def strict_problems(self) -> list[str]:
        problems = []
        if self.skip_reasons:
            problems.append(f"{sum(self.skip_reasons.values())} test(s) skipped")
        missing = [name for name in required_markers() if not self.ran_by_marker[name]]
        if missing:
            problems.append("no test ran for marker(s): " + ", ".join(missing))
        return problems


def required_markers() -> tuple[str, ...]:
    """The service markers of which at least one test must run: all, or ``$JPDIT_REQUIRED_MARKERS``.

    ``.ci/run``'s runs of part of the suite on a travelled clock name the markers that part holds.
    """
    named = os.environ.get("JPDIT_REQUIRED_MARKERS", "").split()
    unknown = sorted(set(named) - set(SERVICE_MARKERS))
    if unknown:
        raise pytest.UsageError(f"JPDIT_REQUIRED_MARKERS names unknown marker(s): {', '.join(unknown)}")
    return tuple(named) or SERVICE_MARKERS


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller does the counting
        return
    config.pluginmanager.register(Tally(), "jpdit-tally")


def _tally(config: pytest.Config) -> Tally | None:
    return config.pluginmanager.get_plugin("jpdit-tally")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    tally = _tally(session.config)
    if tally is None or not _strict():
        return
    problems = tally.strict_problems()
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    session.config.stash[_PROBLEMS] = problems


_PROBLEMS = pytest.StashKey[list]()


def pytest_unconfigure(config: pytest.Config) -> None:
    tally = _tally(config)
    if tally is None:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    for line in tally.lines():
        reporter.write_line(line, yellow=bool(tally.skip_reasons), green=not tally.skip_reasons, bold=True)
    for problem in config.stash.get(_PROBLEMS, []):
        reporter.write_line(f"jpdit: FAILED because JPDIT_REQUIRE_SERVICES=1 and {problem}", red=True, bold=True)
