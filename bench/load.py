"""Load test (issue 8, point 3): 50 people filing, tracking and working cases for 60 s, as production runs.

Usage:
    .venv/bin/python bench/load.py [--users 50] [--spawn-rate 10] [--seconds 60] [--web-workers 3] [--keep]

The product runs as docker-compose.yml runs it (tests/stack.py): gunicorn (3 sync workers, as compose
says; --web-workers to compare), a Celery worker (concurrency 2) and one beat, ``DJANGO_ENV=production``,
a private redis-server, an SMTP server in this process that keeps every email it accepts, and a fresh
PostgreSQL database ``jpdit_load`` on 127.0.0.1:5432 (user postgres, trust), migrated for the run and
dropped afterwards unless --keep. What differs from compose (tests/stack.py sets it): no TLS proxy on
loopback, so ``SECURE_SSL_REDIRECT=false``, cookies without ``Secure`` and no HSTS; and staff sign in
with the password alone (``STAFF_REQUIRE_2FA=false``; the second factor has its own tests).
``TRUSTED_PROXY_COUNT=1`` is compose's own default: each simulated person sends their own
X-Forwarded-For address, so the intake's per-address limit stays on and applies to each person.

Then:
  1. seeds 11 staff accounts (8 managers, 3 complaints leads) and 200 complaints (received,
     acknowledged or under investigation; assigned and not), and writes the secure tracking links of
     100 of them for the tracking clients;
  2. runs locust headless (bench/load/locustfile.py, a separate process: locust patches the standard
     library with gevent) with --users for --seconds: clients filing (2 in 5), clients tracking (2 in 5),
     staff on the dashboard (1 in 5);
  3. waits for the worker to send every acknowledgement, waits 5 s more (nothing may be sent twice), and
     checks: no locust failure; the complaints in the database are exactly those whose reference the
     filing clients read on their confirmation page; each has exactly one acknowledgement at the mail
     server (counted by the reference in the Subject), one acknowledgement outbox row, SENT, and is
     acknowledged;
  4. prints per endpoint the requests, failures, p50 and p95 and the requests per second, and what it
     checked. Exit status 1 if a check failed. The figures are locust's own, taken when it quits (the
     locustfile writes them to summary.json; its CSV files, refreshed once a second, miss the last
     requests). Locust keeps response times to the ms under 100 ms, to 10 ms under 1 s, to 100 ms above.
     Two more columns give the exact p50 and p95 of the requests that started 15 s or more into the
     run, once everyone has started and every member of staff has signed in.

Everything goes to var/load/<UTC time>/: locust/ (locust's log and CSV files, summary.json, the seed
files, the references filed) and stack/ (the web, worker and beat logs).

tests/test_load.py runs the same (``run``) on the test database, 50 users for 60 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages (and tests.stack) importable
    sys.path.insert(0, str(ROOT))

LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
PASSWORD = "load test: correct horse battery staple"  # noqa: S105 (the seeded throwaway accounts' password)
# Compose's default (one proxy in front); the stack harness sets 0 for tests without a proxy.
STACK_ENV = {"TRUSTED_PROXY_COUNT": "1"}
WEB_WORKERS = 3  # docker-compose.yml's gunicorn --workers
ACKNOWLEDGEMENT = re.compile(r"^Your complaint (\S+) has been received$")
DRAIN_TIMEOUT = 180
# Users start over the first users/spawn-rate seconds (5 s) and staff sign in as they start: after this
# many seconds every person is at their steady work.
STEADY_AFTER = 15
QUIET_AFTER_DRAIN = 5
PG = "postgres://postgres@127.0.0.1:5432"
BENCH_DATABASE = "jpdit_load"

DESCRIPTIONS = (
    "The engineer booked for the firewall upgrade arrived four hours late and left without finishing.",
    "Our nightly backup has failed three times since your visit and nobody has called back.",
    "We were charged twice on the last invoice for the same broadband line.",
    "A laptop sent for repair came back with the same fault and a cracked screen.",
    "Your helpdesk reset a password for someone who was not on our list of contacts.",
    "The broadband installation was booked for Monday and nobody came; we lost a day's trading.",
)


# --- seeding -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    staff: list[str]
    tracking: list[tuple[str, str]]  # (reference, path of the secure link)
    complaint_ids: set[int]


def seed(stack, *, complaints: int = 200, managers: int = 8, leads: int = 3, tracked: int = 100) -> Seeded:
    """Staff accounts and complaints received, acknowledged or under investigation, on the stack's database.

    Django must be set up already, on that database.
    """
    from django.test.utils import override_settings
    from django.urls import reverse
    from django.utils import timezone

    from cases import business_days, links
    from cases.models import Complaint
    from tests import factories
    from tests.stack import usable_in_production

    rng = random.Random(8)
    staff = [factories.manager(username=f"load-manager-{n}") for n in range(1, managers + 1)]
    staff += [factories.lead(username=f"load-lead-{n}") for n in range(1, leads + 1)]
    for user in staff:
        usable_in_production(user, PASSWORD)
    managers_only = staff[:managers]

    now = timezone.now()
    created: list[Complaint] = []
    states = [Complaint.Status.RECEIVED, Complaint.Status.ACKNOWLEDGED, Complaint.Status.INVESTIGATING]
    for n in range(complaints):
        received = now - timedelta(days=rng.uniform(0, 30))
        status = rng.choice(states)
        fields = {
            "received_at": received,
            "description": rng.choice(DESCRIPTIONS),
            "acknowledgement_due": business_days.due_date(received, 2),
            "status": status,
        }
        if status != Complaint.Status.RECEIVED:
            fields["acknowledged_at"] = received + timedelta(hours=2)
            fields["outcome_due"] = business_days.due_date(fields["acknowledged_at"], 10)
            # Under investigation means a manager has it; three in four acknowledged ones have one too.
            if status == Complaint.Status.INVESTIGATING or n % 4:
                fields["assignee"] = rng.choice(managers_only)
        created.append(factories.ComplaintFactory(**fields))

    # The links are signed with the stack's secret key, as the acknowledgement emails sign them.
    with override_settings(SECRET_KEY=stack.secret_key):
        tracking = [
            (c.reference, reverse("client:case", args=[links.client_token(c)])) for c in rng.sample(created, tracked)
        ]
    return Seeded(staff=[u.username for u in staff], tracking=tracking, complaint_ids={c.pk for c in created})


# --- locust ----------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    method: str
    name: str
    requests: int
    failures: int
    p50: float | None
    p95: float | None
    rps: float
    # Exact, from every request that started once the ramp-up and the sign-ins were over.
    steady_p50: float | None = None
    steady_p95: float | None = None


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (exact: one of the values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def read_summary(path: Path) -> tuple[list[Endpoint], Endpoint, list[str]]:
    """The figures the locustfile wrote when locust quit: per endpoint, the total, the failures.

    Each endpoint also gets its exact p50 and p95 over the requests that started ``STEADY_AFTER``
    seconds or more into the run.
    """
    summary = json.loads(path.read_text())
    endpoints, total = [Endpoint(**e) for e in summary["endpoints"]], Endpoint(**summary["total"])
    steady: dict[tuple[str, str], list[float]] = {}
    for started, method, name, ms in summary["requests"]:
        if started >= STEADY_AFTER:
            steady.setdefault((method, name), []).append(ms)
    for endpoint in endpoints:
        times = steady.get((endpoint.method, endpoint.name), [])
        endpoint.steady_p50, endpoint.steady_p95 = percentile(times, 0.5), percentile(times, 0.95)
    everything = [ms for times in steady.values() for ms in times]
    total.steady_p50, total.steady_p95 = percentile(everything, 0.5), percentile(everything, 0.95)
    return endpoints, total, summary["errors"]


def run_locust(stack, seeded: Seeded, folder: Path, *, users: int, spawn_rate: int, seconds: int) -> Path:
    """locust --headless in its own process; returns its summary file. Raises if locust itself broke."""
    tracking = folder / "tracking.txt"
    tracking.write_text("".join(f"{reference} {path}\n" for reference, path in seeded.tracking))
    filed = folder / "filed.txt"
    filed.write_text("")
    prefix = folder / "locust"
    summary = folder / "summary.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        {
            "JPDIT_LOAD_TRACKING": str(tracking),
            "JPDIT_LOAD_FILED": str(filed),
            "JPDIT_LOAD_STAFF": ",".join(seeded.staff),
            "JPDIT_LOAD_PASSWORD": PASSWORD,
            "JPDIT_LOAD_SUMMARY": str(summary),
            "PYTHONUNBUFFERED": "1",
        }
    )
    locust = Path(sys.executable).parent / "locust"
    command = [
        str(locust if locust.exists() else shutil.which("locust") or "locust"),
        *("-f", str(LOCUSTFILE), "--headless", "--host", stack.url),
        *("--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{seconds}s"),
        # At the end each person finishes what they are doing: no complaint is cut off mid-filing.
        *("--stop-timeout", "30", "--only-summary", "--csv", str(prefix)),
    ]
    log = folder / "locust.log"
    with log.open("wb") as out:
        result = subprocess.run(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 120, check=False
        )
    # 0: no failure; 1: some requests failed (reported from the CSV files). Anything else: locust broke.
    if result.returncode not in (0, 1) or not summary.exists():
        raise RuntimeError(f"locust exited with {result.returncode}:\n{log.read_text()[-4000:]}")
    return summary


# --- checks ------------------------------------------------------------------------------------


def acknowledgement_counts(mail) -> Counter:
    """How many acknowledgement emails the mail server accepted for each reference (from the Subject)."""
    with mail.lock:
        subjects = [str(message["Subject"]) for message in mail.messages]
    return Counter(found.group(1) for found in map(ACKNOWLEDGEMENT.match, subjects) if found)


@dataclass
class LoadResult:
    users: int
    seconds: int
    web_workers: int
    endpoints: list[Endpoint]
    total: Endpoint
    failures: list[str]
    filed: list[str]
    acknowledgements: Counter
    drained_seconds: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    generator_cpu_seconds: float
    folder: Path
    problems: list[str] = field(default_factory=list)
    summary_path: Path | None = None
    # Cores used on average while locust ran, per program; connections opened to the database meanwhile.
    cores: dict[str, float] = field(default_factory=dict)
    new_connections: int = 0

    @property
    def connections_per_acknowledgement(self) -> float:
        return self.new_connections / max(len(self.filed), 1)

    def table(self) -> str:
        steady = f"p50 ms from {STEADY_AFTER} s | p95 ms from {STEADY_AFTER} s"
        lines = [
            f"| endpoint | requests | failures | p50 ms | p95 ms | req/s | {steady} |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f}"

        def row(e: Endpoint, label: str) -> str:
            figures = [e.requests, e.failures, ms(e.p50), ms(e.p95), f"{e.rps:.1f}", ms(e.steady_p50), ms(e.steady_p95)]
            return f"| {label} | " + " | ".join(str(figure) for figure in figures) + " |"

        lines += [row(e, f"{e.method} {e.name}") for e in sorted(self.endpoints, key=lambda e: (e.name, e.method))]
        lines.append(row(self.total, "**all**"))
        return "\n".join(lines)

    def summary(self) -> str:
        sent = sum(self.acknowledgements[r] for r in self.filed)
        load = "/".join(f"{x:.2f}" for x in self.load_before), "/".join(f"{x:.2f}" for x in self.load_after)
        setting = (
            f"{self.users} users for {self.seconds} s, gunicorn {self.web_workers} sync workers, "
            f"Celery worker concurrency 2, one beat; load average (1/5/15 min) {load[0]} before, {load[1]} after; "
            f"locust used {self.generator_cpu_seconds:.1f} s of CPU"
        )
        outcome = (
            f"complaints filed: {len(self.filed)}; acknowledgement emails for them: {sent} "
            f"(all sent {self.drained_seconds:.1f} s after locust stopped); locust failures: {self.total.failures}"
        )
        cpu = ", ".join(f"{name} {cores:.2f}" for name, cores in self.cores.items())
        usage = (
            f"cores used: {cpu}; new database connections: {self.new_connections} "
            f"({self.connections_per_acknowledgement:.3f} per acknowledgement)"
        )
        lines = [setting, self.table(), outcome, usage, f"files: {self.folder}"]
        if self.problems:
            lines.append("PROBLEMS:\n  " + "\n  ".join(self.problems))
        else:
            lines.append("checks passed: no failures; every complaint filed has exactly one acknowledgement.")
        return "\n".join(lines)


def run(
    stack,
    folder: Path,
    *,
    users: int = 50,
    spawn_rate: int = 10,
    seconds: int = 60,
    watch: Callable[[], AbstractContextManager] = nullcontext,
) -> LoadResult:
    """Seed, start the (prepared) stack, run locust, wait for the worker, check. The caller stops the stack.

    ``watch()`` is entered once the stack is up, just before locust starts, and left when locust has
    stopped (bench/soak.py samples the processes' memory in it).
    """
    folder.mkdir(parents=True, exist_ok=True)
    seeded = seed(stack)
    stack.start()
    return measure(stack, seeded, folder, users=users, spawn_rate=spawn_rate, seconds=seconds, watch=watch)


def measure(
    stack,
    seeded: Seeded,
    folder: Path,
    *,
    users: int,
    spawn_rate: int,
    seconds: int,
    watch: Callable[[], AbstractContextManager] = nullcontext,
) -> LoadResult:
    """One locust run on the running stack, then the checks, over the complaints filed in this run only
    (bench/load_steps.py runs several on one stack)."""
    from cases.models import Complaint
    from notifications.models import OutboundMessage
    from tests.stack import wait_until

    folder.mkdir(parents=True, exist_ok=True)
    earlier = set(Complaint.objects.values_list("pk", flat=True))
    emails_before = acknowledgement_counts(stack.mail)
    load_before = os.getloadavg()
    usage = ProcessUsage(stack)
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with watch():
        summary = run_locust(stack, seeded, folder, users=users, spawn_rate=spawn_rate, seconds=seconds)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = os.getloadavg()
    stopped = time.monotonic()
    cores = usage.cores()

    endpoints, total, failures = read_summary(summary)
    filed = (folder / "filed.txt").read_text().split()
    acknowledgement = "complaint_acknowledgement"
    outbox = OutboundMessage.objects.filter(kind=acknowledgement).exclude(complaint_id__in=earlier)
    pending = outbox.exclude(state=OutboundMessage.State.SENT)

    def sent_now() -> Counter:
        return acknowledgement_counts(stack.mail) - emails_before

    def drained() -> bool:
        counts = sent_now()
        return all(counts[reference] for reference in filed) and not pending.exists()

    problems: list[str] = []
    try:
        wait_until(drained, timeout=DRAIN_TIMEOUT, what="every acknowledgement to be sent", every=0.5)
    except AssertionError as error:
        problems.append(str(error))
    drained_seconds = time.monotonic() - stopped
    time.sleep(QUIET_AFTER_DRAIN)  # several more chances for a duplicate to show
    counts = sent_now()
    connections = usage.new_connections()

    if total.failures or failures:
        problems.append(f"locust counted {total.failures} failures: {failures}")
    if not filed:
        problems.append("no complaint was filed")
    if len(set(filed)) != len(filed):
        problems.append(f"a reference was shown twice: {[r for r, n in Counter(filed).items() if n > 1]}")
    saved = set(Complaint.objects.exclude(pk__in=earlier).values_list("reference", flat=True))
    if saved != set(filed):
        problems.append(
            f"complaints saved but not confirmed: {sorted(saved - set(filed))}; "
            f"confirmed but not saved: {sorted(set(filed) - saved)}"
        )
    wrong = {reference: counts[reference] for reference in filed if counts[reference] != 1}
    if wrong:
        problems.append(f"acknowledgement emails not exactly one: {wrong}")
    strays = set(counts) - set(filed)
    if strays:
        problems.append(f"acknowledgements for complaints nobody filed: {sorted(strays)}")
    rows = Counter(outbox.filter(state="sent").values_list("complaint__reference", flat=True))
    rows_wrong = {reference: rows[reference] for reference in filed if rows[reference] != 1}
    if rows_wrong or outbox.count() != len(filed):
        problems.append(f"acknowledgement outbox rows not exactly one SENT each: {rows_wrong}")
    not_acknowledged = Complaint.objects.filter(reference__in=filed).exclude(status=Complaint.Status.ACKNOWLEDGED)
    if not_acknowledged.exists():
        problems.append(f"filed but not acknowledged: {list(not_acknowledged.values_list('reference', 'status'))}")

    generator = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return LoadResult(
        users=users,
        seconds=seconds,
        web_workers=stack.web_workers,
        endpoints=endpoints,
        total=total,
        failures=failures,
        filed=filed,
        acknowledgements=counts,
        drained_seconds=drained_seconds,
        load_before=load_before,
        load_after=load_after,
        generator_cpu_seconds=generator,
        folder=folder,
        problems=problems,
        summary_path=summary,
        cores={**cores, "locust": generator / usage.wall},
        new_connections=connections,
    )


# --- what the processes used -------------------------------------------------------------------


def _tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used by a process and every descendant, living or ended and waited for:
    each living process's own time and its ended children's (``cutime``/``cstime``), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        # After the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), counted from state = 0.
        stats[int(entry.name)] = (int(fields[1]), sum(int(value) for value in fields[11:15]) / ticks)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo += children.get(pid, [])
    return total


def _postmaster() -> int | None:
    """The pid of this machine's PostgreSQL server (the process named postgres whose parent is not)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                if Path(f"/proc/{parent}/comm").read_text().strip() != "postgres":
                    return int(entry.name)
        except OSError:
            continue
    return None


def _sessions() -> int:
    """Connections ever opened to the stack's database (PostgreSQL's own count, pg_stat_database.sessions)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


class ProcessUsage:
    """The CPU of gunicorn, the Celery worker and beat, and PostgreSQL (the whole server: measure on a quiet
    machine), and the database connections opened, from now on."""

    def __init__(self, stack) -> None:
        self.roots = {
            "gunicorn": stack.processes["web"].pid,
            "celery": stack.processes["worker"].pid,
            "beat": stack.processes["beat"].pid,
        }
        if (postmaster := _postmaster()) is not None:
            self.roots["postgresql"] = postmaster
        self.started = time.monotonic()
        self.before = {name: _tree_cpu_seconds(pid) for name, pid in self.roots.items()}
        self.sessions_before = _sessions()
        self.wall = 0.0

    def cores(self) -> dict[str, float]:
        """Cores each used on average since the start (call when the load stops)."""
        self.wall = time.monotonic() - self.started
        return {name: (_tree_cpu_seconds(pid) - self.before[name]) / self.wall for name, pid in self.roots.items()}

    def new_connections(self) -> int:
        """Connections opened to the database since the start (call once the stats are flushed: after the drain)."""
        return _sessions() - self.sessions_before


# --- the bench script --------------------------------------------------------------------------


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown CPU")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory_kb = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} CPUs ({model}), {memory_kb / 1024 / 1024:.0f} GB RAM, Python {sys.version.split()[0]}"


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(sql)


@contextmanager
def bench_stack(
    kind: str,
    *,
    database: str = BENCH_DATABASE,
    web_workers: int = WEB_WORKERS,
    web_options: list[str] | None = None,
    keep: bool = False,
):
    """The production-shaped stack on a fresh database ``database``, prepared (not started), with Django set
    up in this process on the same database; files in var/<kind>/<UTC time>/. Everything stops on the way out,
    and the database is dropped unless ``keep``."""
    for program in ("redis-server",):
        if shutil.which(program) is None:
            sys.exit(f"{program} is not installed (Debian's redis-server package); the {kind} test needs it.")
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        sys.exit(f"PostgreSQL is not reachable on 127.0.0.1:5432; the {kind} test needs it.")

    from tests.stack import MailServer, RedisServer, Stack

    started = datetime.now(UTC)
    folder = ROOT / "var" / kind / started.strftime("%Y%m%dT%H%M%SZ")
    _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{database}"')
    redis = RedisServer(folder / "redis").start()
    mail = MailServer().start()
    stack = Stack(
        folder=folder / "stack",
        database_url=f"{PG}/{database}",
        redis=redis,
        mail=mail,
        private_root=folder / "private",
        extra_env=dict(STACK_ENV),
        web_workers=web_workers,
        web_options=list(web_options or []),
    )
    print(f"{started:%Y-%m-%d %H:%M} UTC, {machine()}; files in {folder}", flush=True)
    try:
        stack.prepare(migrate=True)
        # This process reads and seeds the same database with the stack's own production settings.
        os.environ.update(stack.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "jpdit_complaints.settings.production"
        import django

        django.setup()
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per SMTP command
        yield stack, folder
    finally:
        stack.stop()
        mail.stop()
        redis.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep:
            _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--web-workers", type=int, default=WEB_WORKERS)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DATABASE}")
    args = parser.parse_args()

    with bench_stack("load", web_workers=args.web_workers, keep=args.keep) as (stack, folder):
        result = run(stack, folder / "locust", users=args.users, spawn_rate=args.spawn_rate, seconds=args.seconds)
    print(result.summary())
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
