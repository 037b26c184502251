"""Benchmark: one full deadline sweep on PostgreSQL with 1,000,000 complaints, about 5,000 due or overdue.

Usage:
    .venv/bin/python bench/deadlines.py [N] [--keep] [--reuse] [--queries] [--explain] [--profile]

What it does:
  1. creates a scratch PostgreSQL database (jpdit_bench_deadlines), migrates it, creates
     the demo staff (seed_demo: a lead, a manager, a Director), a second lead and seven more
     managers (all with email addresses), and seeds N complaints (default 1,000,000) with
     ``seed_complaints`` (20,000 open, received over the last four weeks; the rest finished
     over two years);
  2. shapes the data as a live system would look on the sweep's morning (one business day
     after today, 09:00 London), by set-based SQL: every open deadline is moved to a
     business day two to twelve days ahead, then, by row number,
       - 1,000 acknowledgements and 1,500 outcomes fall due tomorrow (reminders),
       - 500 acknowledgements and 1,200 outcomes are overdue (300 of those outcomes were
         escalated yesterday already: they must not be escalated again),
       - 500 paused investigations (awaiting_client) have a past outcome date (never escalated),
       - every under-appeal complaint gets its appeal: 600 are open (100 acknowledgements and
         150 decisions due tomorrow, 50 and 100 overdue, 200 due later), the rest decided and
         their complaints closed,
       - 3,000 responded complaints keep their appeal window (200 of them ended yesterday:
         closures); the other responded complaints are closed,
       - actions on finished complaints: 300 overdue and not done, 700 due later, one in
         fifty closed complaints with a done one,
       - a reminder notice on one closed complaint in three (notices pile up over time),
     then VACUUM ANALYZE (what autovacuum does after a load);
  3. runs ``deadlines_sweep(now=<that morning, 09:00 London>)`` in this process with the
     production settings (DJANGO_ENV=production, the broker on scratch Redis database 7, so
     the delivery tasks the sweep queues are really published, and never consumed), under
     ``CaptureQueriesContext``; prints its wall time, its query count, the slowest queries
     and what it did (checked against what the shaping made due); then runs it again at the
     same moment (must find nothing to do) and prints the same.

Targets (issue 5): the first sweep <= 3 s and <= 30 queries.

``--keep`` keeps the database afterwards; ``--reuse`` uses a kept one holding N complaints,
after undoing what an earlier run's sweeps wrote (their notices, timeline entries, outbox rows,
closures and the sweep lock), to measure again without seeding again. ``--queries`` lists
every query of each run in order; ``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of the first
run's read queries, run again after the measured runs; ``--profile`` profiles the first run.
Besides wall time it prints CPU time (this process, and its PostgreSQL backend read from /proc),
which other work on a shared machine changes far less than wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: its scripts share helpers by importing each other from this folder.
from intake_load import PG, REDIS, check_services, manage, production_environment, psql, redis_db

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "jpdit_bench_deadlines"
BROKER_DB, CACHE_DB = 7, 8
OPEN_CASES = 20_000

# What the shaping makes due (step 2 of the docstring); the sweep's report is checked against it.
ACK_TOMORROW, ACK_OVERDUE = 1000, 500
OUTCOME_TOMORROW, OUTCOME_OVERDUE, OUTCOME_ALREADY_ESCALATED = 1500, 1200, 300
PAUSED_PAST_DUE = 500
APPEAL_ACK_TOMORROW, APPEAL_ACK_OVERDUE, APPEAL_DECISION_TOMORROW, APPEAL_DECISION_OVERDUE = 100, 50, 150, 100
APPEALS_OPEN = 600
RESPONDED_KEPT, WINDOW_ENDED = 3000, 200
ACTIONS_OVERDUE, ACTIONS_LATER = 300, 700

MAKE_STAFF = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
users = get_user_model().objects
for username, group in [("lead2", "Complaints leads")] + [(f"manager{n}", "Managers") for n in range(2, 9)]:
    user, made = users.get_or_create(
        username=username,
        defaults=dict(first_name="Bench", last_name=username.title(), is_staff=True,
                      email=f"{username}@bench.jpditservices.invalid"),
    )
    user.groups.add(Group.objects.get(name=group))
"""


# --- set-up ----------------------------------------------------------------------------------


def environment_for(scratch: Path) -> dict[str, str]:
    environment = production_environment(scratch)
    environment.update(
        DATABASE_URL=f"{PG}/{BENCH_DB}",
        CELERY_BROKER_URL=f"{REDIS}/{BROKER_DB}",
        CACHE_URL=f"{REDIS}/{CACHE_DB}",
    )
    return environment


def complaints_in_database() -> int | None:
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"):  # noqa: S608 - a constant
        return None
    try:
        return psql("SELECT count(*) FROM cases_complaint", BENCH_DB)[0][0]
    except Exception:  # noqa: BLE001 - a half-made database: start again
        return None


def build_database(environment: dict[str, str], count: int) -> None:
    psql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {BENCH_DB}")
    print("Migrating the scratch database...", flush=True)
    manage(environment, "migrate", "--noinput", "-v", "0")
    manage(environment, "seed_demo", "--force", "-v", "0")
    manage(environment, "shell", "-c", MAKE_STAFF)
    share = min(1.0, OPEN_CASES / count)
    print(f"Seeding {count:,} complaints ({share:.1%} open)...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "seed_complaints", str(count), "--open-share", str(share)],
        cwd=ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def setup_django(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    from jpdit_complaints.environment import use_default_settings

    use_default_settings()
    import django

    django.setup()


# --- the morning's data -------------------------------------------------------------------------


def sweep_morning() -> datetime:
    """09:00 London on the first business day after today."""
    from cases import business_days

    day = business_days.add_business_days(business_days.london_today(), 1)
    return datetime.combine(day, datetime.min.time().replace(hour=9), tzinfo=business_days.LONDON)


def execute(sql: str, params: dict | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def shape(today: date) -> None:
    """Make the due and overdue work of step 2 (see the docstring), all by set-based SQL."""
    from cases import business_days

    def bd(n: int) -> date:
        return business_days.add_business_days(today, n)

    later = [bd(n) for n in range(2, 13)]
    from django.contrib.auth import get_user_model

    owners = list(
        get_user_model().objects.filter(is_active=True).exclude(email="").order_by("pk").values_list("pk", flat=True)
    )
    p = {
        "tomorrow": bd(1),
        "later": later,
        "overdue": [bd(-1), bd(-2), bd(-3)],
        "yesterday": bd(-1),
        "now": datetime.combine(bd(-1), datetime.min.time(), tzinfo=UTC),
        "owners": owners,
    }
    started = time.perf_counter()
    # Every open deadline some way off, so only what follows is due.
    execute(
        "UPDATE cases_complaint SET acknowledgement_due = (%(later)s::date[])[1 + id %% 11] WHERE status = 'received'",
        p,
    )
    execute(
        "UPDATE cases_complaint SET outcome_due = (%(later)s::date[])[1 + id %% 11] "
        "WHERE status IN ('acknowledged', 'investigating', 'awaiting_client')",
        p,
    )

    def by_rank(status_sql: str, assignment: str) -> None:
        execute(
            f"WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases_complaint "  # noqa: S608
            f"WHERE {status_sql}) UPDATE cases_complaint c SET {assignment} FROM ranked r WHERE c.id = r.id",
            {**p, "a": ACK_TOMORROW, "b": ACK_TOMORROW + ACK_OVERDUE, "c": OUTCOME_TOMORROW},
        )

    by_rank(
        "status = 'received'",
        "acknowledgement_due = CASE WHEN r.n <= %(a)s THEN %(tomorrow)s "
        "WHEN r.n <= %(b)s THEN (%(overdue)s::date[])[1 + r.n %% 3] ELSE c.acknowledgement_due END",
    )
    execute(
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases_complaint "
        "WHERE status IN ('acknowledged', 'investigating')) "
        "UPDATE cases_complaint c SET outcome_due = CASE WHEN r.n <= %(c)s THEN %(tomorrow)s::date "
        "WHEN r.n <= %(d)s THEN (%(overdue)s::date[])[1 + r.n %% 3] ELSE c.outcome_due END "
        "FROM ranked r WHERE c.id = r.id",
        {**p, "c": OUTCOME_TOMORROW, "d": OUTCOME_TOMORROW + OUTCOME_OVERDUE},
    )
    # The last 300 overdue outcomes were escalated yesterday: their notices exist.
    execute(
        "INSERT INTO cases_deadlinenotice (complaint_id, kind, deadline, due_date, subject_id, recipients, created_at) "
        "SELECT id, 'escalation', 'outcome', outcome_due, 0, '[]', %(now)s FROM ("
        "  SELECT id, outcome_due, row_number() OVER (ORDER BY id) AS n FROM cases_complaint "
        "  WHERE status IN ('acknowledged', 'investigating')) r "
        "WHERE r.n > %(from)s AND r.n <= %(to)s",
        {
            **p,
            "from": OUTCOME_TOMORROW + OUTCOME_OVERDUE - OUTCOME_ALREADY_ESCALATED,
            "to": OUTCOME_TOMORROW + OUTCOME_OVERDUE,
        },
    )
    execute(
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases_complaint "
        "WHERE status = 'awaiting_client') "
        "UPDATE cases_complaint c SET outcome_due = (%(overdue)s::date[])[1 + r.n %% 3] "
        "FROM ranked r WHERE c.id = r.id AND r.n <= %(e)s",
        {**p, "e": PAUSED_PAST_DUE},
    )

    # Appeals: one per under-appeal complaint; all but the first 600 decided (and their complaints closed).
    execute(
        "INSERT INTO appeals_appeal (complaint_id, status, channel, reasons, received_at, late_reason, "
        "acknowledgement_due, acknowledged_at, decision_due, review_started_at, decision, decision_reasons, "
        "recommendations, decided_at, revision, created_at, updated_at) "
        "SELECT id, 'decided', 'web', 'Seeded appeal.', responded_at + interval '3 days', '', "
        "(responded_at + interval '5 days')::date, responded_at + interval '4 days', "
        "(responded_at + interval '25 days')::date, responded_at + interval '6 days', "
        "'original_decision_upheld', 'Seeded reasons.', '', responded_at + interval '20 days', 0, "
        "responded_at + interval '3 days', responded_at + interval '20 days' "
        "FROM cases_complaint c WHERE status = 'under_appeal' "
        "AND NOT EXISTS (SELECT 1 FROM appeals_appeal a WHERE a.complaint_id = c.id)"
    )
    execute(
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY complaint_id) AS n FROM appeals_appeal) "
        "UPDATE appeals_appeal a SET decision = '', decision_reasons = '', decided_at = NULL, "
        "status = CASE WHEN r.n <= %(a2)s THEN 'received' WHEN r.n <= %(c2)s THEN 'acknowledged' "
        "  WHEN r.n <= %(d2)s THEN 'under_review' ELSE 'acknowledged' END, "
        "acknowledgement_due = CASE WHEN r.n <= %(a1)s THEN %(tomorrow)s::date "
        "  WHEN r.n <= %(a2)s THEN %(yesterday)s::date ELSE a.acknowledgement_due END, "
        "acknowledged_at = CASE WHEN r.n <= %(a2)s THEN NULL ELSE a.acknowledged_at END, "
        "decision_due = CASE WHEN r.n <= %(a2)s THEN NULL WHEN r.n <= %(c2)s THEN %(tomorrow)s::date "
        "  WHEN r.n <= %(d2)s THEN (%(overdue)s::date[])[1 + r.n %% 3] "
        "  ELSE (%(later)s::date[])[1 + r.n %% 11] END "
        "FROM ranked r WHERE a.id = r.id AND r.n <= %(all)s",
        {
            **p,
            "a1": APPEAL_ACK_TOMORROW,
            "a2": APPEAL_ACK_TOMORROW + APPEAL_ACK_OVERDUE,
            "c2": APPEAL_ACK_TOMORROW + APPEAL_ACK_OVERDUE + APPEAL_DECISION_TOMORROW,
            "d2": APPEAL_ACK_TOMORROW + APPEAL_ACK_OVERDUE + APPEAL_DECISION_TOMORROW + APPEAL_DECISION_OVERDUE,
            "all": APPEALS_OPEN,
        },
    )
    execute(
        "UPDATE cases_complaint c SET status = 'closed' FROM appeals_appeal a "
        "WHERE a.complaint_id = c.id AND a.status = 'decided' AND c.status = 'under_appeal'"
    )

    # Responded: the newest 3,000 keep their appeal window (200 ended yesterday); the rest closed.
    execute(
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id DESC) AS n FROM cases_complaint "
        "WHERE status = 'responded') "
        "UPDATE cases_complaint c SET "
        "status = CASE WHEN r.n <= %(kept)s THEN 'responded' ELSE 'closed' END, "
        "appeal_deadline = CASE WHEN r.n <= %(ended)s THEN %(yesterday)s::date "
        "  WHEN r.n <= %(kept)s THEN (%(later)s::date[])[1 + r.n %% 11] "
        "  ELSE (c.responded_at + interval '28 days')::date END "
        "FROM ranked r WHERE c.id = r.id",
        {**p, "kept": RESPONDED_KEPT, "ended": WINDOW_ENDED},
    )

    # Actions: done ones on one closed complaint in fifty; 300 overdue and 700 later, not done.
    execute(
        "INSERT INTO cases_action (complaint_id, kind, description, owner_id, due_date, created_at, done_at, "
        "done_by_id, from_appeal) "
        "SELECT c.id, 'put_right', 'Seeded action.', (%(owners)s::int[])[1 + c.id %% 3], "
        "(c.responded_at + interval '20 days')::date, c.responded_at, c.responded_at + interval '15 days', "
        "(%(owners)s::int[])[1 + c.id %% 3], false FROM cases_complaint c WHERE c.status = 'closed' AND c.id %% 50 = 0",
        p,
    )
    execute(
        "INSERT INTO cases_action (complaint_id, kind, description, owner_id, due_date, created_at, done_at, "
        "done_by_id, from_appeal) "
        "SELECT r.id, 'prevent_recurrence', 'Seeded open action.', (%(owners)s::int[])[1 + r.n %% 5], "
        "CASE WHEN r.n <= %(o)s THEN (%(overdue)s::date[])[1 + r.n %% 3] "
        "  ELSE (%(later)s::date[])[1 + r.n %% 11] END, %(now)s, NULL, NULL, false FROM ("
        "  SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases_complaint WHERE status = 'closed' "
        "  AND id %% 50 = 1 LIMIT %(all)s) r",
        {**p, "o": ACTIONS_OVERDUE, "all": ACTIONS_OVERDUE + ACTIONS_LATER},
    )
    # seed_demo's own emails count as sent (the sweep's outbox pass then has nothing old to re-queue).
    execute("UPDATE notifications_outboundmessage SET state = 'sent', sent_at = %(now)s", p)
    # Notices of past mornings pile up: a reminder on one closed complaint in three.
    execute(
        "INSERT INTO cases_deadlinenotice (complaint_id, kind, deadline, due_date, subject_id, recipients, created_at) "
        "SELECT id, 'reminder', 'outcome', outcome_due, 0, '[]', acknowledged_at "
        "FROM cases_complaint WHERE status = 'closed' AND id %% 3 = 0 AND outcome_due IS NOT NULL"
    )
    print(f"  shaped in {time.perf_counter() - started:.0f} s", flush=True)


def undo_earlier_runs() -> None:
    """For --reuse: remove what earlier measured sweeps wrote, so the sweep finds the same work again."""
    execute(
        "UPDATE cases_complaint c SET status = 'responded' FROM cases_deadlinenotice n "
        "WHERE n.complaint_id = c.id AND n.kind = 'closure' AND c.status = 'closed'"
    )
    execute(
        "DELETE FROM cases_complaintevent WHERE kind IN ('reminder_sent', 'escalated', 'closed') "
        "AND created_at = %(now)s",
        {"now": sweep_morning()},
    )
    # The sweep stamps what it writes with its own ``now``; nothing seeded has that time.
    execute("DELETE FROM cases_deadlinenotice WHERE created_at = %(now)s", {"now": sweep_morning()})
    execute("DELETE FROM notifications_outboundmessage")
    # The lock row stays, as in a live system; only the record of this morning's work goes.
    execute("UPDATE cases_sweeplock SET daily_work_done_for = NULL")


# --- the measurement -----------------------------------------------------------------------------


def backend_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a PostgreSQL backend so far, from /proc (the server runs here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured_sweep(now: datetime, *, profile: bool = False):
    """One sweep: its report, wall time, queries, and CPU seconds (this process, its database backend)."""
    import cProfile
    import pstats

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from procedure.sweep import deadlines_sweep

    reset_queries()
    backend = connection.cursor().connection.info.backend_pid
    profiler = cProfile.Profile() if profile else None
    with CaptureQueriesContext(connection) as captured:
        cpu_backend, cpu_here = backend_cpu_seconds(backend), time.process_time()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = deadlines_sweep(now=now)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
        cpu = (time.process_time() - cpu_here, backend_cpu_seconds(backend) - cpu_backend)
    if profiler:
        print("Profile of the first sweep (its figures include the profiler's overhead):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    return report, wall, captured.captured_queries, cpu


def describe(name: str, report, wall: float, queries: list[dict], cpu: tuple, *, every: bool = False) -> None:
    in_database = sum(float(q["time"]) for q in queries)
    print(
        f"{name}: {wall:.2f} s wall ({in_database:.2f} s waiting on the database), CPU {cpu[0]:.2f} s in Python "
        f"+ {cpu[1]:.2f} s in the PostgreSQL backend; {len(queries)} queries; {report}"
    )
    shown = queries if every else sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:6]
    for query in shown:
        sql = " ".join(query["sql"].split())
        print(f"    {float(query['time']) * 1000:8.1f} ms  {sql[:150]}{'...' if len(sql) > 150 else ''}")


def explain(queries: list[dict]) -> None:
    """EXPLAIN ANALYZE each read query of a run (the reads only: writes would change the data)."""
    from django.db import connection

    for query in queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or " FOR UPDATE" in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n      ".join(row[0] for row in cursor.fetchall())
        print(f"\n  {' '.join(sql.split())[:200]}\n      {plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int, nargs="?", default=1_000_000, help="complaints to seed (1000000)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database holding COUNT complaints")
    parser.add_argument("--queries", action="store_true", help="list every query of each run, in order")
    parser.add_argument("--profile", action="store_true", help="profile the first sweep (cProfile, top 18)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the sweep's read queries")
    args = parser.parse_args()

    check_services()
    scratch = Path(tempfile.mkdtemp(prefix="jpdit-bench-deadlines-"))
    environment = environment_for(scratch)
    for db in (BROKER_DB, CACHE_DB):
        redis_db(db).flushdb()
    # seed_demo files two complaints of its own (one appealed) besides the N seeded.
    reuse = args.reuse and complaints_in_database() == args.count + 2
    if not reuse:
        build_database(environment, args.count)
    setup_django(environment)
    now = sweep_morning()
    if reuse:
        print(f"Reusing {BENCH_DB} with {args.count:,} complaints; undoing earlier sweeps...", flush=True)
        undo_earlier_runs()
    else:
        shape(now.date())
    print("VACUUM ANALYZE...", flush=True)
    psql("VACUUM ANALYZE", BENCH_DB)

    from django.db import connection

    from cases.models import Complaint
    from notifications.models import OutboundMessage
    from procedure.models import DeadlineNotice

    complaints = Complaint.objects.count()
    notices_before = DeadlineNotice.objects.count()
    load_before = os.getloadavg()
    # Connect, make the lock row and load the calendar first: a running beat has all three already.
    connection.ensure_connection()
    from procedure.models import SweepLock

    SweepLock.objects.get_or_create(name="deadlines")
    from cases import business_days

    business_days.get_calendar()

    first = measured_sweep(now, profile=args.profile)
    second = measured_sweep(now)
    load_after = os.getloadavg()

    report = first[0]
    expected = {
        "reminders": ACK_TOMORROW + OUTCOME_TOMORROW + APPEAL_ACK_TOMORROW + APPEAL_DECISION_TOMORROW,
        "escalations": ACK_OVERDUE
        + OUTCOME_OVERDUE
        - OUTCOME_ALREADY_ESCALATED
        + APPEAL_ACK_OVERDUE
        + APPEAL_DECISION_OVERDUE,
        "closures": WINDOW_ENDED,
        "action_reminders": ACTIONS_OVERDUE,
    }
    print()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.2f} / {load_before[1]:.2f} before, {load_after[0]:.2f} after. "
        f"{complaints:,} complaints, {notices_before:,} notices of earlier mornings; "
        f"sweep at {now:%a %d %b %Y %H:%M} London; DJANGO_ENV=production, PostgreSQL, broker Redis."
    )
    due = sum(expected.values()) + OUTCOME_ALREADY_ESCALATED + PAUSED_PAST_DUE
    print(
        f"Due or overdue: {due:,} (of which {OUTCOME_ALREADY_ESCALATED} escalated yesterday and "
        f"{PAUSED_PAST_DUE} paused: nothing to send for them)."
    )
    describe("first sweep", *first, every=args.queries)
    describe("second sweep", *second, every=args.queries)
    print(f"outbox rows written: {OutboundMessage.objects.count():,}")

    problems = []
    for name, value in expected.items():
        if getattr(report, name) != value:
            problems.append(f"{name}: {getattr(report, name)} (expected {value})")
    if not report.daily_work:
        problems.append("the morning work did not run")
    again = second[0]
    if again.reminders or again.escalations or again.closures or again.action_reminders or again.messages_queued:
        problems.append(f"the second sweep did something: {again}")
    if first[1] > 3 or len(first[2]) > 30:
        problems.append(f"first sweep {first[1]:.2f} s, {len(first[2])} queries (targets: <= 3 s, <= 30 queries)")
    print()
    if problems:
        print("targets MISSED or wrong work: " + "; ".join(problems))
    else:
        print(
            f"targets met: {first[1]:.2f} s <= 3 s, {len(first[2])} queries <= 30, the right work, "
            "and the second run sent nothing"
        )

    if args.explain:
        explain(first[2])

    connection.close()
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    for db in (BROKER_DB, CACHE_DB):
        redis_db(db).flushdb()
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
