"""Benchmark: the public complaint form under gunicorn on PostgreSQL, as production runs it.

Usage:
    .venv/bin/python bench/intake_load.py [--workers 2] [--sequential 300] [--concurrent 1000]
                                          [--clients 10 20] [--rate 150] [--profile 300] [--keep]
                                          [--code DIR] [--database NAME] [--redis-dbs CACHE BROKER]

What it does:
  1. creates a scratch PostgreSQL database (jpdit_bench; dropped afterwards unless --keep)
     and migrates it; collects static files (the production storage needs the manifest);
  2. starts gunicorn (sync workers) with DJANGO_ENV=production, DEBUG off, a generated
     SECRET_KEY, a Redis broker and cache (scratch Redis databases 13 and 14, flushed),
     SECURE_SSL_REDIRECT=false (no TLS proxy here) and INTAKE_RATE_LIMIT_ENABLED=false
     (every request comes from 127.0.0.1). Nothing else is switched off: each POST
     validates the form, saves the complaint, its event and its outbox row in one
     transaction, and publishes the delivery task to Redis on commit;
  3. each client GETs the form once (CSRF cookie and token), then POSTs valid complaints
     (multipart, as a browser sends this form) with http.client:
       - sequential: one client, one POST after another;
       - N concurrent clients (closed loop): N clients each POST again as soon as answered;
         this finds the throughput ceiling, and its latency is N / throughput by Little's law;
       - N clients, open loop: POSTs arrive at random times (Poisson, --rate per second on
         average) and the next free one of the N clients sends each; latency counts from the
         arrival, so a POST that waited for a free client is charged the wait;
     and prints median, p95 latency and requests per second for each, with the CPU each
     part of the system spent per POST;
  4. checks that every POST was answered 303 with the confirmation page, and that the
     database holds exactly one complaint, one 'submitted' event and one outbox row per POST;
  5. with --profile N: N more POSTs inside one process under cProfile (CPU time), to show
     where the application's time goes.

``--code DIR`` serves another checkout (a git worktree of an older commit) with the same load,
to measure before and after a change; ``--database`` and ``--redis-dbs`` choose other scratch
databases than jpdit_bench and Redis 13 and 14.

Targets on the reference machine (2 cores): median <= 15 ms sequential; p95 <= 40 ms and
>= 150 requests/s with 20 concurrent clients.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
BENCH_DB = "jpdit_bench"
BROKER_DB, CACHE_DB = 14, 13
CONFIRMATION = "/complaint/received/"

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
COOKIE = re.compile(r"csrftoken=([^;]+)")
INCIDENT = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()


# --- set-up ------------------------------------------------------------------------------


def check_services() -> None:
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            sys.exit(f"{name} is not reachable on 127.0.0.1:{port}; the benchmark needs it.")


def psql(sql: str, database: str = "postgres"):
    import psycopg

    with psycopg.connect(f"{PG}/{database}", autocommit=True) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else None


def count(sql: str) -> int:
    return psql(sql, BENCH_DB)[0][0]


def redis_db(db: int):
    import redis

    return redis.Redis.from_url(f"{REDIS}/{db}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_environment(scratch: Path) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "CELERY_", "EMAIL_", "CACHE_"))
    }
    return {
        **inherited,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SITE_URL": "http://127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"{PG}/{BENCH_DB}",
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "CACHE_URL": f"{REDIS}/{CACHE_DB}",
        # No worker runs: delivery tasks wait in Redis and nothing is sent.
        "EMAIL_URL": "smtp://127.0.0.1:2525",
        "INTAKE_RATE_LIMIT_ENABLED": "false",
        # As docker-compose.yml runs production: a kept connection is checked before each request reuses it.
        "CONN_HEALTH_CHECKS": "true",
        "STATIC_ROOT": str(scratch / "static"),
        "PRIVATE_MEDIA_ROOT": str(scratch / "private"),
        "LOG_LEVEL": "WARNING",
    }


def python_for(code: Path) -> str:
    """The Python of the checkout ``code``: its own ``.venv`` when it has one, else this one's.

    An older checkout compared with may need other packages (before issue 16 the settings named
    django-crispy-forms and django-htmx, since removed): ``make install`` there gives it its own.
    """
    own = code / ".venv" / "bin" / "python"
    return str(own) if code != ROOT and own.exists() else sys.executable


def manage(environment: dict[str, str], *args: str, code: Path = ROOT) -> None:
    """``manage.py`` of the checkout ``code`` (this one, or an older one to compare with)."""
    subprocess.run([python_for(code), "manage.py", *args], cwd=code, env=environment, check=True)


def start_gunicorn(
    environment: dict[str, str], port: int, workers: int, config: str | None, code: Path = ROOT
) -> subprocess.Popen:
    command = [python_for(code), "-m", "gunicorn", "jpdit_complaints.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "sync", "--backlog", "256", "--log-level", "warning"]
    if config:
        command += ["--config", config]
    server = subprocess.Popen(command, cwd=code, env=environment)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not answer within 30 s")


def cpu_seconds(port: int | None = None, database: str | None = None, *, by_process: bool = False) -> dict[str, float]:
    """CPU time used so far by each part of the system (Linux /proc; empty elsewhere).

    With ``port``, only the gunicorn serving it; with ``database``, only PostgreSQL's
    connections to that database (not its shared background processes), so that other
    work on the machine (another benchmark, a test suite) is not counted. Redis is
    shared with anything else running, so its figure is only meaningful on an idle machine.
    ``by_process``: keyed "part:pid" instead of summed per part.
    """
    if not Path("/proc/self/stat").exists():
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        if "gunicorn" in cmdline and "jpdit_complaints.wsgi" in cmdline:
            if port is not None and f"127.0.0.1:{port}" not in cmdline:
                continue
            part = "gunicorn"
        elif comm == "postgres":
            # A connection's process title: "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
            if database is not None and f" {database} " not in cmdline:
                continue
            part = "PostgreSQL"
        elif comm.startswith("redis-server"):
            part = "Redis"
        elif int(stat.parent.name) == os.getpid():
            part = "load generator"
        else:
            continue
        if by_process:
            part = f"{part}:{stat.parent.name}"
        totals[part] = totals.get(part, 0.0) + used
    return totals


# --- the load generator ------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    bad_locations: int = 0
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.count / self.wall

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) * 1000

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.count:>5} POSTs  median {self.median:6.1f} ms  p95 {self.percentile(95):6.1f} ms"
            f"  p99 {self.percentile(99):6.1f} ms  max {max(self.latencies) * 1000:6.1f} ms  {self.rps:6.1f} req/s"
        )

    def cpu_line(self) -> str:
        if not self.cpu:
            return ""
        parts = ", ".join(f"{part} {seconds / self.count * 1000:.2f}" for part, seconds in sorted(self.cpu.items()))
        return f"  CPU ms per POST: {parts}"


def multipart(fields: dict[str, str], boundary: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    # A browser sends an empty file part when no document is chosen.
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode()


class Client:
    """One browser: GETs the form once, then posts complaints (reconnecting when gunicorn closes)."""

    def __init__(self, port: int, number: int) -> None:
        self.number = number
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        origin = f"http://127.0.0.1:{port}"
        self.boundary = uuid.uuid4().hex
        self.headers = {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Origin": origin,
            "Referer": origin + "/",
        }

    def open_form(self) -> None:
        self.connection.request("GET", "/")
        response = self.connection.getresponse()
        page = response.read().decode()
        assert response.status == 200, response.status
        self.headers["Cookie"] = "csrftoken=" + COOKIE.search(response.getheader("Set-Cookie", "")).group(1)
        self.token = CSRF_INPUT.search(page).group(1)
        self.hidden = {k: v for k, v in HIDDEN_INPUT.findall(page) if k != "csrfmiddlewaretoken"}

    def bodies(self, count: int) -> list[bytes]:
        """Every POST body built before the clock starts, so the load generator stays cheap."""
        return [self.body(sequence) for sequence in range(count)]

    def body(self, sequence: int) -> bytes:
        return multipart(
            {
                "csrfmiddlewaretoken": self.token,
                **self.hidden,
                "name": f"Bench Client {self.number}-{sequence}",
                "email": f"client{self.number}.{sequence}@example.com",
                "phone": "01494 123456",
                "organisation": "Benchmark Ltd",
                "preferred_contact": "email",
                "postal_address": "",
                "incident_date": INCIDENT,
                "description": "The monthly security report arrived late and listed another client's network. " * 3,
                "desired_outcome": "A corrected report and an explanation.",
                "privacy_ack": "on",
                "website": "",
            },
            self.boundary,
        )

    def post(self, body: bytes, phase: Phase, since: float | None = None) -> None:
        started = time.perf_counter()
        self.connection.request("POST", "/", body=body, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        phase.latencies.append(time.perf_counter() - (started if since is None else since))
        phase.statuses.append(response.status)
        if not (response.getheader("Location") or "").startswith(CONFIRMATION):
            phase.bad_locations += 1


def run_phase(port: int, name: str, clients: int, total: int, first_number: int, rate: float | None = None) -> Phase:
    """Closed loop (``rate`` None: each client posts again as soon as answered) or open loop.

    Open loop: POSTs arrive at random (a Poisson process, ``rate`` per second on average,
    fixed seed) and the next free client of the pool sends each one; its latency counts
    from its arrival time, so waiting for a free client is charged too.
    """
    phase = Phase(name, clients)
    browsers = [Client(port, first_number + i) for i in range(clients)]
    for browser in browsers:
        browser.open_form()
    if rate is None:
        shares = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
        work_lists = [browser.bodies(share) for browser, share in zip(browsers, shares, strict=True)]
    else:
        randomness = random.Random(2026)
        arrivals = list(itertools.accumulate(randomness.expovariate(rate) for _ in range(total)))
        taken = itertools.count()
    barrier = threading.Barrier(clients + 1)
    start = [0.0]

    def work(index: int) -> None:
        browser = browsers[index]
        barrier.wait()
        if rate is None:
            for body in work_lists[index]:
                browser.post(body, phase)
            return
        while (sequence := next(taken)) < total:  # itertools.count is thread-safe in CPython
            due = start[0] + arrivals[sequence]
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            browser.post(browser.body(sequence), phase, since=due)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start[0] = time.perf_counter() + 0.05
    cpu_before = cpu_seconds(port, BENCH_DB, by_process=True)
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.wall = time.perf_counter() - start[0]
    cpu_after = cpu_seconds(port, BENCH_DB, by_process=True)
    # Per process: a database connection recycled meanwhile (CONN_MAX_AGE) loses only its last moments.
    for key, seconds in cpu_after.items():
        part = key.split(":", 1)[0]
        phase.cpu[part] = phase.cpu.get(part, 0.0) + seconds - cpu_before.get(key, 0.0)
    return phase


# --- profile: where one process spends its CPU on the same POSTs -----------------------------

PROFILE_CHILD = "--profile-child"


def profile_child(count: int) -> None:
    """Runs inside the production environment: N POSTs through Django's test client under cProfile."""
    import cProfile
    import pstats

    sys.path.insert(0, os.environ.get("JPDIT_BENCH_CODE", str(ROOT)))
    from jpdit_complaints.environment import use_default_settings

    use_default_settings()
    import django

    django.setup()
    from django.test import Client as DjangoClient

    client = DjangoClient(enforce_csrf_checks=True)
    page = client.get("/").content.decode()
    fields = {k: v for k, v in HIDDEN_INPUT.findall(page) if k != "csrfmiddlewaretoken"}
    fields["csrfmiddlewaretoken"] = CSRF_INPUT.search(page).group(1)
    boundary = uuid.uuid4().hex

    def post(sequence: int) -> None:
        body = multipart(
            {
                **fields,
                "name": f"Profiled Client {sequence}",
                "email": f"profiled.{sequence}@example.com",
                "phone": "01494 123456",
                "organisation": "Benchmark Ltd",
                "preferred_contact": "email",
                "postal_address": "",
                "incident_date": INCIDENT,
                "description": "The monthly security report arrived late and listed another client's network. " * 3,
                "desired_outcome": "A corrected report and an explanation.",
                "privacy_ack": "on",
                "website": "",
            },
            boundary,
        )
        response = client.generic("POST", "/", body, content_type=f"multipart/form-data; boundary={boundary}")
        assert response.status_code == 303, response.status_code

    for sequence in range(30):  # warm caches and connections
        post(sequence)
    cpu, wall = time.process_time(), time.perf_counter()
    for sequence in range(count):
        post(1000 + sequence)
    cpu, wall = (time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000
    print(f"In one process, unprofiled: {cpu:.2f} ms CPU and {wall:.2f} ms wall per POST (test client, no HTTP)")
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for sequence in range(count):
        post(100_000 + sequence)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative")
    total = stats.total_tt
    print(f"Share of CPU per POST under cProfile (cProfile inflates the absolute figures; total {total:.2f} s):")
    interesting = re.compile(
        r"cases/|notifications/|csrf.py.*process_view|multipartparser.py.*\(parse\)|task.py.*apply_async"
        r"|transaction.py.*__exit__|base/base.py.*(commit|ensure_connection|close_if_health)|handlers/base.py.*_get_response"
        r"|query.py.*(get_or_create|update|create)\)|template/response|shortcuts.py"
    )
    rows = []
    for (filename, line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        label = f"{filename.split('site-packages/')[-1].replace(str(ROOT) + '/', '')}:{line}({function})"
        if interesting.search(label):
            rows.append((cumulative, label))
    for cumulative, label in sorted(rows, reverse=True)[:28]:
        print(f"  {100 * cumulative / total:5.1f}%  {label}")


def run_profile(environment: dict[str, str], count: int, code: Path = ROOT) -> None:
    print()
    environment = {**environment, "JPDIT_BENCH_CODE": str(code)}
    subprocess.run([python_for(code), __file__, PROFILE_CHILD, str(count)], cwd=code, env=environment, check=True)


def git_commit(code: Path) -> str:
    """The commit a checkout is at (short), for the figures' heading."""
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or "unknown commit"


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    global BENCH_DB, CACHE_DB, BROKER_DB  # read by the helpers above: set once, before any of them runs
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--sequential", type=int, default=300, help="POSTs by one client (default 300)")
    parser.add_argument("--concurrent", type=int, default=1000, help="POSTs per concurrent phase (default 1000)")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 20], help="concurrent clients (10 20)")
    parser.add_argument("--rate", type=float, default=150.0, help="POSTs/s offered in the paced phase (150)")
    parser.add_argument("--warmup", type=int, default=60, help="POSTs before measuring (default 60)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N POSTs in-process afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the jpdit_bench database afterwards")
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="the checkout to serve (default: this one; an older one to compare)"
    )
    parser.add_argument("--database", default=BENCH_DB, help=f"the scratch database's name ({BENCH_DB})")
    parser.add_argument(
        "--redis-dbs",
        type=int,
        nargs=2,
        default=[CACHE_DB, BROKER_DB],
        metavar=("CACHE", "BROKER"),
        help=f"the scratch Redis databases, flushed ({CACHE_DB} {BROKER_DB})",
    )
    parser.add_argument(
        "--gunicorn-config", metavar="PATH", help="for experiments: a gunicorn config file (e.g. a post_fork hook)"
    )
    args = parser.parse_args()
    BENCH_DB = args.database
    CACHE_DB, BROKER_DB = args.redis_dbs
    code = args.code.resolve()

    check_services()
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > 0.5:
        print(f"Warning: load average {os.getloadavg()[0]:.2f}; other work on this machine will skew the figures.")
    scratch = Path(tempfile.mkdtemp(prefix="jpdit-bench-"))
    environment = production_environment(scratch)
    psql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {BENCH_DB}")
    for db in (BROKER_DB, CACHE_DB):
        redis_db(db).flushdb()
    print("Migrating the scratch database and collecting static files...", flush=True)
    manage(environment, "migrate", "--noinput", "-v", "0", code=code)
    manage(environment, "collectstatic", "--noinput", "-v", "0", code=code)

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    port = free_port()
    server = start_gunicorn(environment, port, args.workers, args.gunicorn_config, code=code)
    most = max(args.clients)
    try:
        warm = run_phase(port, "warm-up", min(args.workers, 4), args.warmup, 1000)
        phases = [run_phase(port, "sequential (1 client)", 1, args.sequential, 2000)]
        for index, clients in enumerate(args.clients):
            name = f"{clients} concurrent clients (closed loop)"
            phases.append(run_phase(port, name, clients, args.concurrent, 3000 + 100 * index))
        name = f"{most} clients, {args.rate:g}/s at random"
        paced = run_phase(port, name, most, args.concurrent, 5000, rate=args.rate)
        phases.append(paced)
    finally:
        server.terminate()
        server.wait(timeout=30)

    everything = [warm, *phases]
    posts = sum(p.count for p in everything)
    redirected = sum(status == 303 for p in everything for status in p.statuses)
    bad_locations = sum(p.bad_locations for p in everything)
    complaints = count("SELECT count(*) FROM cases_complaint")
    references = count("SELECT count(DISTINCT reference) FROM cases_complaint")
    outbox = count("SELECT count(*) FROM notifications_outboundmessage WHERE kind = 'complaint_acknowledgement'")
    events = count("SELECT count(*) FROM cases_complaintevent WHERE kind = 'submitted'")
    published = redis_db(BROKER_DB).llen("celery")

    print()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average before {load_before:.2f}. "
        f"gunicorn {args.workers} sync workers, DJANGO_ENV=production, PostgreSQL, Redis broker and cache; "
        f"code: {code} ({git_commit(code)})"
    )
    for phase in phases:
        print(phase.line())
        print(phase.cpu_line())
    print()
    print(f"POSTs answered 303 -> confirmation page: {redirected}/{posts} (redirected elsewhere: {bad_locations})")
    print(f"complaints in the database: {complaints}; distinct references: {references}")
    print(f"acknowledgement outbox rows: {outbox}; 'submitted' events: {events}")
    print(f"delivery tasks published to Redis: {published}")
    saved = redirected == posts == complaints == references == outbox == events and not bad_locations
    print("every POST saved with its event and outbox row: " + ("yes" if saved else "NO"))

    closed = next(p for p in phases if p.clients == most and "closed" in p.name)

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print()
    print(f"target sequential median <= 15 ms: {phases[0].median:.1f} ms, {verdict(phases[0].median <= 15)}")
    print(
        f"target {most} clients >= 150 req/s: {closed.rps:.0f} req/s at most (closed loop), "
        f"{verdict(closed.rps >= 150)}"
    )
    print(
        f"target {most} clients p95 <= 40 ms at 150 req/s: {paced.percentile(95):.1f} ms at "
        f"{paced.rps:.0f} req/s offered by {most} clients, {verdict(paced.percentile(95) <= 40 and args.rate >= 150)}"
    )
    print(
        f"  (closed loop, {most} clients keep {most} requests in flight, so its p95 of {closed.percentile(95):.0f} ms "
        f"is about {most} / throughput: p95 <= 40 ms that way would need ~{most / 0.040:.0f} req/s)"
    )

    if args.profile:
        run_profile(environment, args.profile, code)

    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    for db in (BROKER_DB, CACHE_DB):
        redis_db(db).flushdb()
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if saved else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == PROFILE_CHILD:
        profile_child(int(sys.argv[2]))
    else:
        sys.exit(main())
