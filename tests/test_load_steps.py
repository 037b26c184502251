"""bench/load_steps.py's own arithmetic: which group a request counts in, and what the cores can keep up with."""

from __future__ import annotations

import pytest

from bench import load_steps


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("/staff/login/", "sign-in"),
        ("/staff/complaints/[reference]/", "case page"),
        ("/staff/?tab=[tab]", "dashboard"),
        ("/staff/?q=[words]", "dashboard"),
        ("/track/[token]/", "tracking"),
        ("/procedure/", "tracking"),
        ("/", "filing"),
        ("/complaint/received/[token]/", "filing"),
    ],
)
def test_each_request_counts_in_its_group(name, group):
    assert load_steps.group_of(name) == group


def test_the_cpu_of_a_request_is_every_programs_cpu_over_the_requests_served():
    cores = {"gunicorn": 0.87, "postgresql": 0.20, "celery": 0.28, "beat": 0.0, "locust": 0.18}
    assert load_steps.cpu_per_request_ms(cores, 100.8) == pytest.approx(15.18, abs=0.01)
    assert load_steps.cpu_per_request_ms(cores, 0) == 0.0


def test_two_cores_kept_85_percent_busy_serve_about_112_requests_a_second_at_15_ms_each():
    assert load_steps.sustainable_rate(15.2, 2) == pytest.approx(111.8, abs=0.1)
    # 200 people ask for about 200 a second: at two cores each request may cost 8.5 ms at most.
    assert load_steps.sustainable_rate(8.5, 2) == pytest.approx(200, abs=0.1)
