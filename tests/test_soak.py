"""bench/soak.py's measuring and its verdict, in seconds (the 10-minute soak itself is run by hand)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.soak import Sampler, memory_verdict, rss_kb

MB = 1024


def flat(kb: int, *, start: float = 0, end: float = 600, every: float = 5) -> list[tuple[float, int]]:
    steps = int((end - start) / every) + 1
    return [(start + n * every, kb) for n in range(steps)]


def test_a_process_whose_memory_settles_after_the_first_minute_passes():
    # Warming up in the first minute (imports, caches, pools) is not growth.
    samples = [(0.0, 60 * MB), (30.0, 90 * MB), *flat(100 * MB, start=60)]
    samples[-1] = (600.0, 109 * MB)  # +9%

    (memory,) = memory_verdict({"gunicorn worker 1": samples}, ended=600)

    assert memory.first_minute_kb == 100 * MB
    assert memory.end_kb == 109 * MB
    assert memory.growth == pytest.approx(0.09)
    assert memory.problem == ""


def test_growing_by_ten_percent_after_the_first_minute_fails():
    samples = [(at, int(100 * MB * (1 + 0.10 * max(at - 60, 0) / 540))) for at, _ in flat(0)]

    (memory,) = memory_verdict({"celery worker pool 7": samples}, ended=600)

    assert memory.growth == pytest.approx(0.10, abs=0.001)
    assert "grew 10.0% after the first minute" in memory.problem


def test_a_process_gone_before_the_end_or_started_late_fails():
    verdicts = memory_verdict(
        {
            "gunicorn worker 1": flat(100 * MB, end=300),  # killed at 5 minutes
            "gunicorn worker 2": flat(100 * MB, start=310),  # its replacement
            "gunicorn worker 3": flat(100 * MB),
        },
        ended=600,
    )

    assert [memory.problem.split(" ")[0] for memory in verdicts] == ["gone", "started", ""]


def test_the_sampler_reads_each_processs_resident_memory_until_stopped():
    grower = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(0.5); x = bytearray(64 * 1024 * 1024); time.sleep(30)"]
    )
    try:
        sampler = Sampler(lambda: {"me": os.getpid(), "grower": grower.pid}, every=0.1)
        with sampler.running():
            time.sleep(1.5)
    finally:
        grower.kill()
        grower.wait()

    assert len(sampler.series["me"]) >= 5
    assert sampler.series["me"][-1][1] == pytest.approx(rss_kb(os.getpid()), rel=0.2)
    grown = [kb for _, kb in sampler.series["grower"]]
    # bytearray() touches every page: the 64 MB show in the RSS.
    assert max(grown) - min(grown) > 60 * MB
    assert rss_kb(grower.pid) is None  # gone
    # Taken as "the first minute" 0.2 s in, before the allocation: the verdict sees the growth.
    grower_memory, _me = memory_verdict(sampler.series, ended=sampler.stopped, settle=0.2, every=0.1)
    assert grower_memory.name == "grower"
    assert grower_memory.problem.startswith("grew")


def test_every_sample_is_written_for_a_curve(tmp_path):
    from bench.soak import write_series

    write_series({"gunicorn worker 9": [(0.0, 1000), (5.0, 1010)]}, tmp_path / "memory.csv")

    assert (
        tmp_path / "memory.csv"
    ).read_text() == "process,seconds,rss_kb\ngunicorn worker 9,0.0,1000\ngunicorn worker 9,5.0,1010\n"
