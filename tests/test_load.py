"""Load (issue 8, point 3): 50 people filing, tracking and working cases for 60 s, with no errors.

The product runs as production runs it (tests/stack.py: gunicorn with compose's 3 workers, a Celery
worker and one beat, ``DJANGO_ENV=production``, a private Redis, the test's PostgreSQL database, emails
over SMTP to a test mail server), behind one proxy as in compose (``TRUSTED_PROXY_COUNT=1``; each
simulated person has their own address, so the intake's per-address limit stays on). locust runs
headless in its own process (bench/load/locustfile.py; bench/load.py seeds, runs and checks, and is
also the bench script for people).

A correctness check, not a timed one: no latency is asserted. The figures are printed (pytest shows
them with -s or when the test fails) and recorded by hand in bench/RESULTS.md.
"""

from __future__ import annotations

import sys

import pytest

from bench import load

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


def test_fifty_people_filing_tracking_and_working_cases_for_a_minute_see_no_error_and_one_acknowledgement_each(
    stack, tmp_path
):
    stack.extra_env.update(load.STACK_ENV)
    stack.web_workers = load.WEB_WORKERS
    stack.prepare()

    result = load.run(stack, tmp_path / "load", users=50, spawn_rate=10, seconds=60)
    sys.stdout.write(result.summary() + "\n")

    assert result.problems == [], result.summary()
    assert result.total is not None
    assert result.total.failures == 0
    # Every kind of person was there: filing, following a case, working the dashboard.
    names = {(e.method, e.name) for e in result.endpoints if e.requests}
    for expected in [
        ("POST", "/"),
        ("GET", "/complaint/received/[token]/"),
        ("GET", "/track/[token]/"),
        ("POST", "/staff/login/"),
        ("GET", "/staff/?tab=[tab]"),
        ("GET", "/staff/?q=[words]"),
        ("GET", "/staff/complaints/[reference]/"),
    ]:
        assert expected in names, f"{expected} never requested:\n{result.table()}"
    # Exactly one acknowledgement email per complaint filed, and none for anything else.
    assert result.filed
    assert [result.acknowledgements[reference] for reference in result.filed] == [1] * len(result.filed)
    assert set(result.acknowledgements) == set(result.filed)
