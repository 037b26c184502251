"""Benchmark: the reports page for a year and a 100,000-row CSV export, on PostgreSQL with N complaints.

Usage:
    .venv/bin/python bench/reports.py [N] [--open 5000] [--runs 7] [--rows 10000 100000] [--keep] [--reuse]

What it does:
  1. builds a scratch PostgreSQL database (jpdit_bench_reports for 1,000,000 complaints,
     jpdit_bench_reports_N otherwise) with the helpers of bench/dashboard.py (migrate,
     seed_demo, extra managers, ``seed_complaints`` N with --open open cases, VACUUM ANALYZE;
     imported, not copied), then adds what seed_complaints does not make, with set-based SQL:
     appeals on the complaints under appeal and on 5% of the closed ones (most decided, a
     third of those changing the outcome), one promised action on each upheld or partly
     upheld complaint (80% done), and an extension on 1% of the answered complaints;
  2. builds the reports' summary of past months (reports.summary.refresh, what the beat task
     does every few minutes) in a child process and prints its time, months and cells;
     ``--no-summary`` empties it instead, so every page counts every month live;
  3. in a child process with the production settings (DJANGO_ENV=production, DEBUG off;
     the second factor is switched off in that process only: sign-in is not what is
     measured), signs in as the lead with Django's test client (in-process, no HTTP server)
     and times:
       - GET /staff/reports/?period=year for the last full year (about half of the seeded
         complaints: seed_complaints spreads them over two years) and for the current year,
         the 12-month trend and a custom period from 17 March last year to 10 February this
         year (two part-months counted live): one warm-up, then --runs requests each; median and max
         wall time, and the number of queries; then last year again with one of its months
         changed since it was kept (that month counted live, as between a change and the
         next run of the beat task);
       - the CSV export of all cases of a custom period holding about --rows rows (10,000
         and 100,000 by default), each size in a fresh child process: wall time, bytes,
         peak Python memory while streaming (tracemalloc, second pass), and the growth of
         the process's peak RSS (ru_maxrss) during the first pass;
  4. prints the figures against the targets: page <= 1 s; export memory flat (the 100,000-row
     peak no more than 2 x the 10,000-row peak).

``--keep`` keeps the database; ``--reuse`` measures again on a kept one without seeding.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard  # bench/dashboard.py: the scratch database helpers
from intake_load import REDIS, check_services, psql, redis_db

ROOT = Path(__file__).resolve().parent.parent
BROKER_DB, CACHE_DB = 8, 9

# What seed_complaints does not make: appeals, actions, extensions (set-based SQL, seconds).
EXTRA_DATA = """
INSERT INTO appeals_appeal (status, channel, reasons, received_at, late_reason, acknowledgement_due,
    acknowledged_at, decision_due, review_started_at, decision, decision_reasons, recommendations, decided_at,
    revision, created_at, updated_at, complaint_id)
SELECT CASE WHEN c.status = 'under_appeal' THEN 'under_review' ELSE 'decided' END,
       'web', 'I disagree with the outcome.', c.responded_at + interval '5 days', '',
       (c.responded_at + interval '8 days')::date,
       c.responded_at + interval '6 days',
       (c.responded_at + interval '27 days')::date,
       c.responded_at + interval '6 days',
       CASE WHEN c.status = 'under_appeal' THEN ''
            WHEN c.id % 3 = 0 THEN 'original_decision_changed' ELSE 'original_decision_upheld' END,
       CASE WHEN c.status = 'under_appeal' THEN '' ELSE 'Reasons of the Director.' END,
       '',
       CASE WHEN c.status = 'under_appeal' THEN NULL
            ELSE c.responded_at + (interval '1 day' * (12 + c.id % 20)) END,
       0, c.responded_at, c.responded_at, c.id
FROM cases_complaint c
WHERE c.responded_at IS NOT NULL AND (c.status = 'under_appeal' OR (c.status = 'closed' AND c.id % 20 = 0))
  AND NOT EXISTS (SELECT 1 FROM appeals_appeal a WHERE a.complaint_id = c.id);

INSERT INTO cases_action (kind, description, due_date, created_at, done_at, complaint_id, owner_id, from_appeal)
SELECT 'put_right', 'Refund the call-out fee.', (c.responded_at + interval '14 days')::date, c.responded_at,
       CASE WHEN c.id % 5 = 0 THEN NULL ELSE c.responded_at + interval '12 days' END,
       c.id, (SELECT id FROM auth_user WHERE username = 'lead'), false
FROM cases_complaint c
WHERE c.outcome IN ('upheld', 'partially_upheld');

INSERT INTO cases_extension (deadline, old_date, new_date, reason, created_at, notice_key, complaint_id, extended_by_id)
SELECT 'outcome', c.outcome_due - 5, c.outcome_due, 'Waiting for a supplier.', c.acknowledged_at, '', c.id,
       (SELECT id FROM auth_user WHERE username = 'lead')
FROM cases_complaint c
WHERE c.responded_at IS NOT NULL AND c.id % 100 = 7;
"""


def database_name(count: int) -> str:
    return "jpdit_bench_reports" if count == 1_000_000 else f"jpdit_bench_reports_{count}"


def environment_for(scratch: Path) -> dict[str, str]:
    environment = dashboard.environment_for(scratch)
    environment.update(CELERY_BROKER_URL=f"{REDIS}/{BROKER_DB}", CACHE_URL=f"{REDIS}/{CACHE_DB}")
    return environment


def add_report_data(database: str) -> None:
    print("Adding appeals, actions and extensions...", flush=True)
    for statement in EXTRA_DATA.split(";"):
        if statement.strip():
            psql(statement, database)
    psql("VACUUM ANALYZE", database)


def period_holding(database: str, rows: int) -> tuple[date, date, int]:
    """From 1 Jan of last year, the shortest run of whole London days holding at least ``rows`` complaints."""
    start = date(datetime.now(UTC).year - 1, 1, 1)
    days = psql(
        "SELECT (received_at AT TIME ZONE 'Europe/London')::date AS day, count(*) FROM cases_complaint "  # noqa: S608
        f"WHERE received_at >= '{start.isoformat()}' GROUP BY day ORDER BY day",
        database,
    )
    total = 0
    for day, n in days:
        total += n
        if total >= rows:
            return start, day, total
    return start, days[-1][0], total


# --- the child process: Django in-process, production settings ---------------------------------


def child(task: dict) -> None:
    import resource

    import django

    sys.path.insert(0, str(ROOT))
    from jpdit_complaints.environment import use_default_settings

    use_default_settings()  # as manage.py and wsgi.py: DJANGO_ENV picks the settings module
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    settings.STAFF_REQUIRE_2FA = False  # sign-in is not what is measured
    client = Client()
    client.force_login(get_user_model().objects.get(username="lead"))
    out: dict = {}
    if task["kind"] == "summary":
        from reports import summary
        from reports.models import ChangedMonth, SummaryCell, SummaryMonth

        if task["empty"]:
            for model in (SummaryCell, SummaryMonth, ChangedMonth):
                model.objects.all().delete()
            print("RESULT " + json.dumps({}), flush=True)
            return
        started = time.perf_counter()
        built = summary.refresh(time_budget=float("inf"))
        out = {
            "seconds": time.perf_counter() - started,
            "months": len(built),
            "cells": SummaryCell.objects.count(),
        }
        print("RESULT " + json.dumps(out), flush=True)
        return
    if task.get("changed_month"):
        from reports.models import ChangedMonth

        ChangedMonth.objects.create(month=date.fromisoformat(task["changed_month"]))
    if task["kind"] == "page":
        path, query = task["path"], task["query"]
        response = client.get(path, query)  # warm-up (calendar, templates, connection)
        assert response.status_code == 200, response.status_code
        queries: list[float] = []

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append(time.perf_counter() - started)

        with connection.execute_wrapper(timed):
            client.get(path, query)
        times, cpu = [], []
        for _ in range(task["runs"]):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, query)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert response.status_code == 200
        out = {
            "median": statistics.median(times),
            "max": max(times),
            "cpu": statistics.median(cpu),
            "queries": len(queries),
            "sql": sum(queries),
        }
        if task.get("changed_month"):
            ChangedMonth.objects.filter(month=date.fromisoformat(task["changed_month"])).delete()
    else:
        import tracemalloc

        query = {"period": "custom", "date_from": task["first"], "date_to": task["last"], "figure": "all"}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        response = client.get("/staff/reports/export.csv", query)
        assert response.status_code == 200
        assert response.streaming
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += 1
        elapsed = time.perf_counter() - started
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        tracemalloc.start()
        response = client.get("/staff/reports/export.csv", query)
        for _chunk in response.streaming_content:
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out = {"seconds": elapsed, "bytes": size, "rows": lines - 1, "peak": peak, "rss_growth_kb": rss_growth}
    print("RESULT " + json.dumps(out), flush=True)


def run_child(environment: dict[str, str], task: dict) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(task)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"the child process failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--open", type=int, default=5000, help="open complaints among them (5000)")
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page (7)")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], help="CSV export sizes")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--no-summary", action="store_true", help="empty the summary: every month counted live")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0

    database = database_name(args.count)
    dashboard.BENCH_DB = database  # the helpers of bench/dashboard.py read it
    check_services()
    scratch = Path(tempfile.mkdtemp(prefix="jpdit-bench-reports-"))
    environment = environment_for(scratch)
    for db in (BROKER_DB, CACHE_DB):
        redis_db(db).flushdb()
    # seed_demo files a couple of complaints of its own besides the N seeded.
    if args.reuse and args.count <= (dashboard.complaints_in_database() or -1) <= args.count + 10:
        print(f"Reusing {database} with {args.count:,} complaints (migrating it to the current schema).")
        dashboard.manage(environment, "migrate", "--noinput", "-v", "0")
        if not psql("SELECT count(*) FROM appeals_appeal", database)[0][0] > 10:
            add_report_data(database)
    else:
        dashboard.build_database(environment, args.count, args.open)
        add_report_data(database)

    dashboard.manage(environment, "collectstatic", "--noinput", "-v", "0")  # the production storage's manifest
    print("Building the reports' summary of past months..." if not args.no_summary else "Emptying the summary...")
    built = run_child(environment, {"kind": "summary", "empty": args.no_summary})
    this_year = datetime.now(UTC).year
    counts = dict(
        psql(
            "SELECT extract(year FROM received_at AT TIME ZONE 'Europe/London')::int, count(*) "
            "FROM cases_complaint GROUP BY 1",
            database,
        )
    )
    appeals, actions = (
        psql(f"SELECT count(*) FROM {table}", database)[0][0]  # noqa: S608 - constant names
        for table in ("appeals_appeal", "cases_action")
    )
    load_before = os.getloadavg()[0]
    last_year = {"period": "year", "year": this_year - 1}
    pages = [
        (f"report, year {this_year - 1}", "/staff/reports/", last_year, None),
        (f"report, year {this_year}", "/staff/reports/", {"period": "year", "year": this_year}, None),
        ("trend, last 12 months", "/staff/reports/trend/", {}, None),
        (
            "custom, 2 part-months",
            "/staff/reports/",
            {"period": "custom", "date_from": f"{this_year - 1}-03-17", "date_to": f"{this_year}-02-10"},
            None,
        ),
        (f"year {this_year - 1}, June changed", "/staff/reports/", last_year, date(this_year - 1, 6, 1).isoformat()),
    ]
    page_results = []
    for name, path, query, changed in pages:
        task = {"kind": "page", "path": path, "query": query, "runs": args.runs, "changed_month": changed}
        page_results.append((name, query, run_child(environment, task)))
    exports = []
    for rows in args.rows:
        first, last, _ = period_holding(database, rows)
        task = {"kind": "csv", "first": first.isoformat(), "last": last.isoformat()}
        exports.append((first, last, run_child(environment, task)))

    print()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average before {load_before:.2f}. "
        f"{args.count:,} complaints ({counts.get(this_year - 1, 0):,} received in {this_year - 1}, "
        f"{counts.get(this_year, 0):,} in {this_year}), {appeals:,} appeals, {actions:,} actions; PostgreSQL, "
        "DJANGO_ENV=production, Django's test client in-process (no HTTP server), signed in as the lead."
    )
    if args.no_summary:
        print("Summary emptied (--no-summary): every month counted live.")
    else:
        print(
            f"Summary built in {built['seconds']:.1f} s: {built['months']} month(s), {built['cells']:,} cells "
            "(reports.summary.refresh, as the beat task does)."
        )
    print(f"{'page':<28} {'median':>9} {'max':>9} {'cpu (web)':>10} {'queries':>8} {'sql':>9}")
    missed = []
    for name, _, r in page_results:
        print(
            f"{name:<28} {r['median'] * 1000:7.0f}ms {r['max'] * 1000:7.0f}ms {r['cpu'] * 1000:8.0f}ms"
            f" {r['queries']:>8} {r['sql'] * 1000:7.0f}ms"
        )
        if r["median"] > 1.0:
            missed.append(f"{name} median {r['median']:.2f} s > 1 s")
    print()
    print(
        f"{'CSV export (all cases of)':<28} {'rows':>8} {'MB':>6} {'seconds':>8}"
        f" {'peak (tracemalloc)':>19} {'RSS growth':>11}"
    )
    for first, last, r in exports:
        print(
            f"{first:%d %b %Y} to {last:%d %b %Y}{'':<4} {r['rows']:>8,} {r['bytes'] / 1e6:6.1f} {r['seconds']:8.1f}"
            f" {r['peak'] / 1e6:16.2f} MB {r['rss_growth_kb'] / 1024:8.1f} MB"
        )
    if len(exports) >= 2:
        small, large = exports[0][2], exports[-1][2]
        if large["peak"] > 2 * small["peak"]:
            missed.append(f"export memory grows: {small['peak'] / 1e6:.2f} MB -> {large['peak'] / 1e6:.2f} MB")
    print()
    print("targets MISSED: " + "; ".join(missed) if missed else "targets met: page median <= 1 s; export memory flat")

    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    for db in (BROKER_DB, CACHE_DB):
        redis_db(db).flushdb()
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
