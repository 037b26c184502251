"""Benchmark: the fixed cost of a staff request (issue 21, point 3), before and after, in the same run.

Usage:
    .venv/bin/python bench/staff_request.py --before DIR [--requests 500] [--rounds 10]

``DIR`` is a checkout of the code before the change (``git worktree add DIR <commit>``, with a
``.venv`` of its own or this one's). What it does:

1. creates a scratch PostgreSQL database (``jpdit_bench_staff``), migrates it with this checkout and
   seeds the demo data (``seed_demo --force``: a complaints lead, a complaint); gives the lead a
   confirmed authenticator (TOTP device);
2. starts one process per variant, each importing its own checkout with the production settings
   (``DJANGO_ENV=production``, DEBUG off, the second factor required, sessions in Redis db 6 and the
   database): "before" (``DIR``), "after" (this checkout) and "after, audit waits for the disk"
   (this checkout with ``AUDIT_SYNCHRONOUS_COMMIT=true``, to tell the two savings apart);
3. in each, Django's test client signs the lead in and marks the session verified by the device (as
   the two-factor page does), then requests two pages: a trivial staff page (the recovery codes page:
   the door, the second factor, one count) and the lead's case page (audited: one entry per request);
4. runs ``--rounds`` rounds; in each, every variant requests each page ``--requests / --rounds`` times,
   the variants taking turns in a rotating order, so background load falls on all alike;
5. prints, per variant and page: queries per request (captured once), the median and mean wall time
   and the CPU time of the process per request (``time.process_time``, the median of the rounds' means),
   and the load average.

The test client runs the whole Django request (middleware, URL, view, template) in-process, without
a web server: the figures are the application's share of a request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: its scripts share helpers by importing each other from this folder.
from intake_load import PG, ROOT, check_services, git_commit, production_environment, psql, python_for

DATABASE = "jpdit_bench_staff"
REDIS_DB = 6
LEAD = "lead"
PAGES = ("trivial", "case")


# --- a child: one variant's Django, answering "run PAGE N" on stdin ---------------------------------


def serve(code: Path) -> None:
    sys.path.insert(0, str(code))
    os.chdir(code)
    from jpdit_complaints.environment import use_default_settings

    use_default_settings()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cases.models import Complaint

    user = get_user_model().objects.get(username=LEAD)
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id  # what the two-factor page records (django_otp.login)
    session.save()
    complaint = Complaint.objects.order_by("pk").first()
    urls = {"trivial": reverse("staff:recovery_codes"), "case": reverse("staff:case", args=[complaint.reference])}
    for url in urls.values():
        for _ in range(20):  # warm: templates, caches, the connection
            assert client.get(url).status_code == 200, url
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        page, count = line.split()
        url = urls[page]
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        statements = [query["sql"].split()[0] for query in captured.captured_queries]
        walls, cpu_start = [], time.process_time()
        for _ in range(int(count)):
            started = time.perf_counter()
            response = client.get(url)
            walls.append(time.perf_counter() - started)
            assert response.status_code == 200
        cpu = (time.process_time() - cpu_start) / int(count)
        print(json.dumps({"walls": walls, "cpu": cpu, "statements": statements}), flush=True)


# --- the runner --------------------------------------------------------------------------------


def prepare(environment: dict[str, str]) -> None:
    psql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    psql(f'CREATE DATABASE "{DATABASE}"')
    for args in (["migrate", "--noinput", "-v", "0"], ["seed_demo", "--force"]):
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL
        )
    # The lead's authenticator (a fixed key: the benchmark never types a code, the session is marked verified).
    psql(
        "INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0, digits, tolerance, drift,"
        " last_t, throttling_failure_timestamp, throttling_failure_count, created_at, last_used_at)"
        " SELECT id, 'Authenticator app', true, '0123456789abcdef0123456789abcdef01234567', 30, 0, 6, 1, 0, -1,"
        " NULL, 0, now(), NULL FROM auth_user WHERE username = 'lead'",
        DATABASE,
    )


def start(label: str, code: Path, environment: dict[str, str]) -> subprocess.Popen:
    # Each checkout's own static files (the production settings read their manifest).
    environment = {**environment, "STATIC_ROOT": str(Path(environment["STATIC_ROOT"]) / label)}
    subprocess.run(
        [python_for(code), "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=code, env=environment, check=True
    )
    child = subprocess.Popen(
        [python_for(code), __file__, "--serve", str(code)],
        cwd=code,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = json.loads(child.stdout.readline())
    assert ready == {"ready": True}, (label, ready)
    return child


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change (required)")
    parser.add_argument("--requests", type=int, default=500, help="requests per page and variant")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve)
        return 0
    if options.before is None:
        parser.error("--before DIR is required: a checkout of the code before the change")
    check_services()
    scratch = Path(tempfile.mkdtemp(prefix="jpdit-bench-staff-"))
    environment = {
        **production_environment(scratch),
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "STAFF_REQUIRE_2FA": "true",
    }
    print(f"load average at the start: {open('/proc/loadavg').read().strip()}")  # noqa: SIM115
    prepare(environment)
    import redis

    redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
    variants = {
        f"before ({git_commit(options.before)})": start("before", options.before.resolve(), environment),
        f"after ({git_commit(ROOT)})": start("after", ROOT, environment),
        "after, audit waits for the disk": start("sync", ROOT, {**environment, "AUDIT_SYNCHRONOUS_COMMIT": "true"}),
    }
    results: dict[tuple[str, str], dict] = {}
    per_round = options.requests // options.rounds
    labels = list(variants)
    try:
        for round_number in range(options.rounds):
            order = labels[round_number % len(labels) :] + labels[: round_number % len(labels)]
            for page in PAGES:
                for label in order:
                    child = variants[label]
                    child.stdin.write(f"{page} {per_round}\n")
                    child.stdin.flush()
                    answer = json.loads(child.stdout.readline())
                    kept = results.setdefault((label, page), {"walls": [], "cpu": [], "statements": []})
                    kept["walls"] += answer["walls"]
                    kept["cpu"].append(answer["cpu"])
                    kept["statements"] = answer["statements"]
    finally:
        for child in variants.values():
            child.stdin.close()
            child.wait(timeout=30)
    print(f"load average at the end: {open('/proc/loadavg').read().strip()}")  # noqa: SIM115
    print(f"\n{options.requests} requests per page and variant, {options.rounds} rounds, taking turns\n")
    print("| variant | page | statements per request | median ms | mean ms | CPU ms per request (median of rounds) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (label, page), kept in sorted(results.items(), key=lambda item: (item[0][1], labels.index(item[0][0]))):
        walls = kept["walls"]
        statements = kept["statements"]
        selects = sum(1 for sql in statements if sql == "SELECT")
        print(
            f"| {label} | {page} | {len(statements)} ({selects} SELECT: {' '.join(statements)}) "
            f"| {statistics.median(walls) * 1000:.2f} | {statistics.fmean(walls) * 1000:.2f} "
            f"| {statistics.median(kept['cpu']) * 1000:.2f} |"
        )
    psql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
