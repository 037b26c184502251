"""Where the load knee is (issue 21, point 1): bench/load.py's people in growing numbers on one stack.

Usage:
    .venv/bin/python bench/load_steps.py [--steps 50,100,200,400] [--seconds 60] [--web-workers 3]
        [--worker-class sync|gthread] [--threads 4]

One production-shaped stack (bench/load.py: gunicorn as docker-compose.yml runs it, a Celery worker and beat,
PostgreSQL, Redis, an SMTP server in this process), seeded once; then, for each step, locust runs that many
simulated people for --seconds (everyone started within 5 s), waits for every acknowledgement, and checks the
complaints filed in that step (no failure, each complaint saved and acknowledged by exactly one email and one
outbox row). Per step it prints:

- requests a second and failures;
- p50/p95/p99 per group (filing: the form, its POST and the confirmation page; tracking: a client's case page and
  the procedure; dashboard: tabs and searches; case page: a staff member opening a case; sign-in), over the
  requests that started once every member of staff had signed in (and 15 s in at the earliest), sign-in apart,
  which counts every sign-in;
- the cores used on average by gunicorn, PostgreSQL (the whole server: run on a quiet machine), the Celery
  worker and beat, and locust itself;
- the new database connections per acknowledgement (pg_stat_database.sessions);
- the CPU a request cost, every program above together (locust's own included: it shares the machine).

Then it names the knee: the largest step with no failures, every check passed and every group's p95 under
500 ms (sign-in apart), and, from the knee's cost per request, the rate the machine's cores can keep up with
(85 % busy): the knee moves only when that cost falls or the cores grow. Run it under
``flock /tmp/bench.lock`` on a shared machine; write the figures in bench/RESULTS.md with the date, the commit
and the load average it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402

KNEE_P95_MS = 500
# How busy the cores may be for queues to stay short: the share of them a sustainable rate may use.
SUSTAINABLE_BUSY = 0.85
GROUPS = ("filing", "tracking", "dashboard", "case page", "sign-in")


def group_of(name: str) -> str:
    """The group of a locust request name (bench/load/locustfile.py names them)."""
    if name == "/staff/login/":
        return "sign-in"
    if name == "/staff/complaints/[reference]/":
        return "case page"
    if name.startswith("/staff/"):
        return "dashboard"
    if name.startswith(("/track/", "/procedure/")):
        return "tracking"
    return "filing"  # "/" (the form and its POST) and the confirmation page


@dataclass
class Group:
    requests: int
    p50: float | None
    p95: float | None
    p99: float | None


def groups(summary_path: Path) -> tuple[dict[str, Group], float, float | None]:
    """Per group, the exact percentiles of the steady requests; when the steady part began (s); and the p95 of
    everyone else's requests while staff were signing in (a sign-in must not slow the others much)."""
    requests = json.loads(summary_path.read_text())["requests"]
    sign_ins = [(started, started + ms / 1000) for started, _, name, ms in requests if group_of(name) == "sign-in"]
    steady_from = max([load.STEADY_AFTER, *(end for _, end in sign_ins)])
    times: dict[str, list[float]] = {group: [] for group in GROUPS}
    during: list[float] = []
    for started, _method, name, ms in requests:
        group = group_of(name)
        if group == "sign-in" or started >= steady_from:
            times[group].append(ms)
        elif any(begin <= started < end for begin, end in sign_ins):
            during.append(ms)
    figures = {
        group: Group(len(values), *(load.percentile(values, f) for f in (0.5, 0.95, 0.99)))
        for group, values in times.items()
    }
    return figures, steady_from, load.percentile(during, 0.95)


def cpu_per_request_ms(cores: dict[str, float], rps: float) -> float:
    """The CPU every program spent on one request, on average: gunicorn, PostgreSQL, Celery, beat and locust."""
    return 1000 * sum(cores.values()) / rps if rps else 0.0


def sustainable_rate(cpu_ms: float, cores: int) -> float:
    """Requests a second these cores serve at that cost per request with queues kept short (SUSTAINABLE_BUSY)."""
    return cores * SUSTAINABLE_BUSY * 1000 / cpu_ms if cpu_ms else 0.0


def passes(result: load.LoadResult, figures: dict[str, Group]) -> bool:
    return not result.problems and all(
        figure.p95 is not None and figure.p95 < KNEE_P95_MS
        for group, figure in figures.items()
        if group != "sign-in" and figure.requests
    )


def report(steps: list[tuple[load.LoadResult, dict[str, Group], float | None]]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = [
        "| people | req/s | failures | " + " | ".join(f"{g} p50/p95/p99 ms" for g in GROUPS) + " | cores: "
        "gunicorn / postgresql / celery / beat / locust | CPU ms a request, all programs | connections per ack | "
        "others' p95 ms during sign-ins | load avg before → after | passes |",
        "| ---: | ---: | ---: | " + " | ".join("---:" for _ in GROUPS) + " | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for result, figures, during in steps:
        cores = " / ".join(
            f"{result.cores.get(name, 0):.2f}" for name in ("gunicorn", "postgresql", "celery", "beat", "locust")
        )
        loads = f"{result.load_before[0]:.2f} → {result.load_after[0]:.2f}"
        cells = [
            str(result.users),
            f"{result.total.rps:.1f}",
            str(result.total.failures),
            *(f"{ms(f.p50)}/{ms(f.p95)}/{ms(f.p99)}" for f in figures.values()),
            cores,
            f"{cpu_per_request_ms(result.cores, result.total.rps):.1f}",
            f"{result.connections_per_acknowledgement:.3f}",
            ms(during),
            loads,
            "yes" if passes(result, figures) else "no" + (" (checks)" if result.problems else ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    knee = [(result.users, result) for result, figures, _during in steps if passes(result, figures)]
    if not knee:
        lines.append("knee: below the first step")
        return "\n".join(lines)
    people, result = max(knee, key=lambda pair: pair[0])
    lines.append(
        f"knee: {people} people (the largest step with no failure and every p95 under {KNEE_P95_MS} ms, sign-in apart)"
    )
    # Why there: what a request costs at the knee, and the rate the machine's cores can keep up at that cost.
    cpu_ms = cpu_per_request_ms(result.cores, result.total.rps)
    cores = os.cpu_count() or 1
    rate = sustainable_rate(cpu_ms, cores)
    lines.append(
        f"at the knee a request cost {cpu_ms:.1f} ms of CPU, all programs together: {cores} cores kept "
        f"{SUSTAINABLE_BUSY:.0%} busy serve about {rate:.0f} requests a second at that cost "
        f"(the knee's {people} people asked for {result.total.rps:.0f} a second)"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="50,100,200,400", help="people per step, comma-separated")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--web-workers", type=int, default=load.WEB_WORKERS)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), help="default: docker-compose.yml's")
    parser.add_argument("--threads", type=int, help="gthread's threads per worker")
    args = parser.parse_args()
    people = [int(n) for n in args.steps.split(",")]
    options = [*(("--worker-class", args.worker_class) if args.worker_class else ())]
    options += [*(("--threads", str(args.threads)) if args.threads else ())]

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    steps = []
    with load.bench_stack("load-steps", web_workers=args.web_workers, web_options=options) as (stack, folder):
        print(f"commit {commit.strip()}; gunicorn {args.web_workers} workers {' '.join(options) or '(compose)'}")
        seeded = load.seed(stack)
        stack.start()
        for users in people:
            result = load.measure(
                stack, seeded, folder / f"{users}", users=users, spawn_rate=max(10, users // 5), seconds=args.seconds
            )
            figures, steady_from, during = groups(result.summary_path)
            steps.append((result, figures, during))
            print(f"\n{users} people (steady from {steady_from:.0f} s):\n{result.summary()}", flush=True)
    print("\n" + report(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
