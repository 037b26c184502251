"""Soak test (issue 19, point 9): 50 people for 10 minutes against the production shape; no error, and no
gunicorn worker or Celery process whose memory grows by 10% or more after the first minute.

Usage:
    .venv/bin/python bench/soak.py [--users 50] [--minutes 10] [--every 5] [--keep]

Run it under ``flock /tmp/bench.lock`` on a shared machine. The stack and the people are bench/load.py's
(``bench_stack`` and ``run``: gunicorn with compose's 3 workers, a Celery worker with concurrency 2 and its
pool, one beat, ``DJANGO_ENV=production``, a private Redis, a fresh PostgreSQL database ``jpdit_soak``, an SMTP
server in this process; locust headless with filing, tracking and staff people), for ``--minutes`` instead
of a minute, with the same checks afterwards (no locust failure, every complaint filed saved and
acknowledged exactly once). Besides, ``Sampler`` reads the resident memory (VmRSS in /proc/<pid>/status) of
every gunicorn worker (the web process's children), the Celery worker's main process and its pool processes,
and beat, every ``--every`` seconds from the moment locust starts to the moment it stops.

The verdict (``memory_verdict``), per process: its RSS at the end of the first minute (the first sample
at or after 60 s: imports done, caches and connection pools filled, every kind of page served) against
its RSS at the last sample; growth must stay under 10%. A process that was there at the first minute and
is gone at the end (a worker killed and replaced would hide a leak), or one that started after the first
minute, is a problem too. The stack's logs must hold no traceback. It prints a table per process (first
minute, peak, end, growth) and the load average before and after, writes every sample to
memory.csv in the run's folder, and exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402

SOAK_DATABASE = "jpdit_soak"
SETTLE_SECONDS = 60
GROWTH_LIMIT = 0.10


def rss_kb(pid: int) -> int | None:
    """The resident memory of a live process in kB (VmRSS); None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None  # a zombie has no VmRSS


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stack_processes(stack) -> dict[str, int]:
    """The processes watched, by a name that keeps the pid (a replacement is a new series)."""
    found: dict[str, int] = {}
    web, worker, beat = (stack.processes.get(name) for name in ("web", "worker", "beat"))
    if web is not None:
        found.update({f"gunicorn worker {pid}": pid for pid in children(web.pid)})
    if worker is not None:
        found[f"celery worker {worker.pid}"] = worker.pid
        found.update({f"celery worker pool {pid}": pid for pid in children(worker.pid)})
    if beat is not None:
        found[f"celery beat {beat.pid}"] = beat.pid
    return found


@dataclass
class Sampler:
    """Reads the RSS of ``processes()`` every ``every`` seconds in a thread, between start and stop."""

    processes: Callable[[], dict[str, int]]  # {name: pid}, read again at each sample
    every: float = 5.0
    series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    started: float = 0.0
    stopped: float = 0.0

    def sample(self) -> None:
        now = time.monotonic() - self.started
        for name, pid in self.processes().items():
            kb = rss_kb(pid)
            if kb is not None:
                self.series.setdefault(name, []).append((now, kb))

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.every):
                break

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sample()  # the end, exactly when locust stopped
        self.stopped = time.monotonic() - self.started

    @contextmanager
    def running(self):
        self.start()
        try:
            yield self
        finally:
            self.stop()


@dataclass
class ProcessMemory:
    name: str
    first_minute_kb: int | None
    end_kb: int | None
    peak_kb: int
    problem: str = ""

    @property
    def growth(self) -> float | None:
        if self.first_minute_kb is None or self.end_kb is None:
            return None
        return (self.end_kb - self.first_minute_kb) / self.first_minute_kb


def memory_verdict(
    series: dict[str, list[tuple[float, int]]],
    *,
    ended: float,
    settle: float = SETTLE_SECONDS,
    limit: float = GROWTH_LIMIT,
    every: float = 5.0,
) -> list[ProcessMemory]:
    """Per process: RSS at the first sample at or after ``settle`` s, at the end, the peak, and what is wrong.

    ``ended``: when sampling stopped (s); a process whose last sample is more than two intervals before
    that had gone by the end.
    """
    verdicts = []
    for name, samples in sorted(series.items()):
        settled = [kb for at, kb in samples if at >= settle]
        first_minute = settled[0] if settled else None
        last_at, end = samples[-1]
        memory = ProcessMemory(name, first_minute, end, max(kb for _, kb in samples))
        if samples[0][0] > settle:
            memory.problem = f"started {samples[0][0]:.0f} s in, after the first minute (a replacement?)"
        elif first_minute is None or last_at < ended - 2 * every:
            memory.problem = f"gone {last_at:.0f} s in, before the end ({ended:.0f} s)"
        elif memory.growth is not None and memory.growth >= limit:
            memory.problem = f"grew {memory.growth:.1%} after the first minute (limit {limit:.0%})"
        verdicts.append(memory)
    return verdicts


def memory_table(verdicts: list[ProcessMemory]) -> str:
    def mb(kb: int | None) -> str:
        return "-" if kb is None else f"{kb / 1024:.1f}"

    lines = [
        "| process (pid) | RSS MB at 1 min | peak MB | RSS MB at end | growth after 1 min | verdict |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for memory in verdicts:
        growth = "-" if memory.growth is None else f"{memory.growth:+.1%}"
        lines.append(
            f"| {memory.name} | {mb(memory.first_minute_kb)} | {mb(memory.peak_kb)} | {mb(memory.end_kb)} "
            f"| {growth} | {memory.problem or 'ok'} |"
        )
    return "\n".join(lines)


def write_series(series: dict[str, list[tuple[float, int]]], path: Path) -> None:
    """Every sample, one line each (process, seconds since locust started, RSS kB), to plot a curve."""
    lines = ["process,seconds,rss_kb"]
    lines += [f"{name},{at:.1f},{kb}" for name, samples in sorted(series.items()) for at, kb in samples]
    path.write_text("\n".join(lines) + "\n")


def tracebacks_in(folder: Path) -> dict[str, int]:
    counts = {}
    for log in sorted(folder.glob("*.log")):
        found = log.read_text(errors="replace").count("Traceback (most recent call last)")
        if found:
            counts[log.name] = found
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between two memory samples")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {SOAK_DATABASE}")
    args = parser.parse_args()
    seconds = round(args.minutes * 60)

    with load.bench_stack("soak", database=SOAK_DATABASE, keep=args.keep) as (stack, folder):
        sampler = Sampler(lambda: stack_processes(stack), every=args.every)
        result = load.run(
            stack,
            folder / "locust",
            users=args.users,
            spawn_rate=args.spawn_rate,
            seconds=seconds,
            watch=sampler.running,
        )
        tracebacks = tracebacks_in(stack.folder)
        write_series(sampler.series, folder / "memory.csv")
    verdicts = memory_verdict(sampler.series, ended=sampler.stopped, every=args.every)
    print(result.summary())
    print(f"memory, sampled every {args.every:.0f} s for {sampler.stopped:.0f} s ({len(verdicts)} processes):")
    print(memory_table(verdicts))
    problems = [f"{memory.name}: {memory.problem}" for memory in verdicts if memory.problem]
    if not any(name.startswith("gunicorn worker") for name in sampler.series):
        problems.append("no gunicorn worker was sampled")
    if not any(name.startswith("celery worker pool") for name in sampler.series):
        problems.append("no Celery pool process was sampled")
    if tracebacks:
        problems.append(f"tracebacks in the stack's logs: {tracebacks}")
    problems += result.problems
    if problems:
        print("SOAK PROBLEMS:\n  " + "\n  ".join(problems))
    else:
        print(
            f"soak passed: no failure, every complaint acknowledged once, no traceback, and no process grew "
            f"by {GROWTH_LIMIT:.0%} or more after the first minute."
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
