"""Benchmark: the staff dashboard under gunicorn on PostgreSQL, with N complaints.

Usage:
    .venv/bin/python bench/dashboard.py [N] [--open 5000] [--requests 200] [--workers 2] [--keep] [--reuse]
                                        [--before DIR]

What it does:
  1. creates a scratch PostgreSQL database (jpdit_bench_dash), migrates it (with the
     ordering indexes of cases/migrations/0005 and the search words of 0011), creates the demo staff
     (seed_demo: one lead, one manager...) and seven more managers, and seeds N
     complaints with ``seed_complaints`` (default 100,000). ``--open`` keeps the number
     of OPEN cases the same whatever N (default 5,000: ``--open-share`` = open / N), as
     in a live system, where closed cases pile up but the open work does not); makes three
     of the manager's latest cases Priya Patel's (``KNOWN_CLIENT``: the manager's name
     search finds a client of theirs; the seeded names hold a few more, as chance gives);
     then VACUUM ANALYZE (what autovacuum would do after such a load);
  2. starts gunicorn (sync workers, default 2) in the production configuration of
     bench/intake_load.py (DJANGO_ENV=production, DEBUG off, Redis cache and broker on
     scratch Redis databases 11 and 12, no TLS redirect), using its helpers;
  3. signs in as the lead and as a manager through the sign-in form (session cookies);
  4. requests each page below ``--requests`` times (default 200), one request at a time,
     round-robin over the pages so background noise falls on all alike, after a warm-up;
     checks every answer is 200 and shows what it should; prints median and p95 per page,
     next to the trivial view (/staff/healthz/, no database) measured in the same run.

Targets (issue 3): every tab and search median <= 10 x the trivial view's median and
p95 <= 40 ms at 100,000 complaints; the case page (the lead's and a manager's) median <= 25 ms;
no more than 20% slower at 1,000,000.

``--keep`` keeps the database afterwards (jpdit_bench_dash for 100,000, jpdit_bench_dash_N
for other sizes, so both can be kept); ``--reuse`` uses a kept one (when it holds N
complaints), migrated to the current schema, to measure again without seeding again.

``--before DIR`` measures a change: DIR is a checkout of the code before it (``git worktree
add DIR <commit>``; ``make install`` there if its packages differ: each checkout runs with its own
``.venv``). That code seeds <database>_before (Redis cache 10); this checkout's database
is a copy of it (CREATE DATABASE ... TEMPLATE), migrated forward, so both serve the same rows.
Both run under gunicorn at once and every round requests each page from one then the other
(alternating which goes first), so background load falls on both alike. It prints both tables,
the medians side by side, and whether each page's HTML is the same in both (CSRF tokens
blanked; "whitespace only" when the only difference is the length of runs of spaces and newlines).
``--database NAME`` names the database(s) otherwise; ``--seeded NAME`` starts from copies of a
database already seeded with N complaints instead of seeding (each copy migrated by its code).
``--seed-only`` prepares (seeds, copies, migrates) and keeps the database(s), measuring nothing, so
a later run with ``--reuse`` measures without the wait.

``--tsvector-only`` (issue 16, point 5) serves this checkout a second time, on the same database,
with searches answered by the stored tsvector ``search_words`` and its GIN index alone, never
reading the word table (bench/search_tsvector_only.py, a gunicorn config file: the product's
code is unchanged); it is measured in the same rounds and compared with this checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: its scripts share helpers by importing each other from this folder.
from intake_load import (
    PG,
    REDIS,
    check_services,
    cpu_seconds,
    free_port,
    manage,
    production_environment,
    psql,
    python_for,
    redis_db,
    start_gunicorn,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "jpdit_bench_dash"  # for the default 100,000; see database_name()
BROKER_DB, CACHE_DB = 12, 11
EXTRA_MANAGERS = 7
LEAD = ("lead", "demo-lead-2026!")
MANAGER = ("manager", "demo-manager-2026!")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REFERENCE_LINK = re.compile(r'href="/staff/complaints/(JPD-\d{4}-\d{5,}-[A-Z])/"')


# --- set-up ----------------------------------------------------------------------------------


def database_name(count: int) -> str:
    """jpdit_bench_dash for 100,000 complaints, jpdit_bench_dash_<N> otherwise: both sizes can be kept."""
    return "jpdit_bench_dash" if count == 100_000 else f"jpdit_bench_dash_{count}"


def environment_for(
    scratch: Path, database: str | None = None, cache_db: int = CACHE_DB, broker_db: int = BROKER_DB
) -> dict[str, str]:
    environment = production_environment(scratch)
    environment.update(
        DATABASE_URL=f"{PG}/{database or BENCH_DB}",
        CELERY_BROKER_URL=f"{REDIS}/{broker_db}",
        CACHE_URL=f"{REDIS}/{cache_db}",
    )
    return environment


def complaints_in_database(database: str | None = None) -> int | None:
    database = database or BENCH_DB
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'"):  # noqa: S608 - a constant
        return None
    try:
        return psql("SELECT count(*) FROM cases_complaint", database)[0][0]
    except Exception:  # noqa: BLE001 - a half-made database: start again
        return None


# Production requires a second factor for staff (accounts/two_factor.py): the signed-in pages
# measured below carry a verified session, as real ones do (django-otp then loads the
# session's device on every request). Each benchmark user gets a confirmed authenticator
# with a fixed key, and the load generator computes its codes (RFC 6238, as the app would).
TOTP_KEYS = {
    LEAD[0]: "3132333435363738393031323334353637383930",
    MANAGER[0]: "4142434445464748494a4b4c4d4e4f5051525354",
}

MAKE_DEVICES = f"""
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
for username, key in {TOTP_KEYS!r}.items():
    user = get_user_model().objects.get(username=username)
    TOTPDevice.objects.filter(user=user).delete()
    TOTPDevice.objects.create(user=user, name="Benchmark authenticator", key=key, confirmed=True)
"""


def totp(key_hex: str, ahead: int = 0) -> str:
    """The 6-digit code an authenticator app shows now (TOTP, SHA-1, 30-second steps); ``ahead``: steps later."""
    counter = int(time.time() // 30) + ahead
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


MAKE_MANAGERS = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
group = Group.objects.get(name="Managers")
for number in range({EXTRA_MANAGERS}):
    user, made = get_user_model().objects.get_or_create(
        username=f"manager{{number + 2}}",
        defaults=dict(first_name="Bench", last_name=f"Manager {{number + 2}}", is_staff=True),
    )
    user.groups.add(group)
"""


# The manager's name search looks up a client of theirs with a common first name and a
# common surname: three of the manager's latest cases are Priya Patel's (as if she had
# complained three times); the seeded names hold a few more Priya Patels, as chance gives
# (about 2 in 100,000 cases), assigned to anyone. Idempotent: the same three cases each time.
KNOWN_CLIENT = (
    "UPDATE cases_complaint SET name = 'Priya Patel', email = 'priya.patel@example.com' WHERE id IN ("
    "SELECT c.id FROM cases_complaint c JOIN auth_user u ON u.id = c.assignee_id "
    "WHERE u.username = 'manager' ORDER BY c.id DESC LIMIT 3)"
)


def build_database(
    environment: dict[str, str], count: int, open_cases: int, database: str | None = None, code: Path = ROOT
) -> None:
    """Seed a scratch database with the checkout ``code`` (this one, or the older one compared with)."""
    database = database or BENCH_DB
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(f"CREATE DATABASE {database}")
    print(f"Migrating the scratch database {database}...", flush=True)
    manage(environment, "migrate", "--noinput", "-v", "0", code=code)
    manage(environment, "seed_demo", "--force", "-v", "0", code=code)
    manage(environment, "shell", "-c", MAKE_MANAGERS, code=code)
    share = min(1.0, open_cases / count)
    print(f"Seeding {count:,} complaints ({share:.3%} open, about {open_cases:,})...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [python_for(code), "manage.py", "seed_complaints", str(count), "--open-share", str(share)],
        cwd=code,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  seeded in {time.perf_counter() - started:.0f} s; VACUUM ANALYZE...", flush=True)
    psql(KNOWN_CLIENT, database)
    psql("VACUUM ANALYZE", database)


def sample_data(database: str | None = None) -> dict[str, str]:
    """Real values from the seeded data to search for (and a mistyped reference)."""
    database = database or BENCH_DB
    reference, email, org = psql(
        "SELECT reference, email, organisation FROM cases_complaint WHERE status = 'investigating' "
        "ORDER BY id DESC LIMIT 1",
        database,
    )[0]
    category = psql("SELECT id FROM cases_category WHERE name = 'Billing'", database)[0][0]
    manager_case = psql(
        "SELECT c.reference FROM cases_complaint c JOIN auth_user u ON u.id = c.assignee_id "
        "WHERE u.username = 'manager' AND c.status = 'investigating' ORDER BY c.id DESC LIMIT 1",
        database,
    )[0][0]
    # One slip: two neighbouring digits of the sequence swapped (they differ, or the slip would not show).
    digits = reference.split("-")[2]
    index = next(i for i in range(len(digits) - 1) if digits[i] != digits[i + 1])
    swapped = digits[:index] + digits[index + 1] + digits[index] + digits[index + 2 :]
    mistyped = reference.replace(f"-{digits}-", f"-{swapped}-")
    return {
        "reference": reference,
        "mistyped": mistyped,
        "email": email,
        "organisation": org,
        "category": category,
        "manager_case": manager_case,
    }


# --- the load generator -------------------------------------------------------------------------


class Browser:
    """One signed-in staff member (a session cookie), one keep-alive connection."""

    def __init__(self, port: int, username: str, password: str, ahead: int = 0) -> None:
        # A code is accepted once: a second server on the same database (--tsvector-only) signs in
        # with the next step's code (django-otp accepts one step either side of now).
        self.ahead = ahead
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.origin = f"http://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.sign_in(username, password)

    def _remember(self, response) -> None:
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]

    def _cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = {"Cookie": self._cookie_header(), **(headers or {})}
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # gunicorn's sync workers close keep-alive connections: reconnect once.
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        content = response.read()
        self._remember(response)
        return response, content

    def _post_form(self, path: str, fields: dict[str, str]):
        _, content = self.request("GET", path)
        token = CSRF_INPUT.search(content.decode()).group(1)
        body = urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.origin,
            "Referer": self.origin + path,
        }
        return self.request("POST", path, body, headers)

    def sign_in(self, username: str, password: str) -> None:
        """The password, then (production requires it) the code of the user's authenticator."""
        response, _ = self._post_form("/staff/login/", {"username": username, "password": password})
        assert response.status == 302, f"sign-in as {username} failed ({response.status})"
        assert "sessionid" in self.cookies, f"sign-in as {username} set no session cookie"
        if "/staff/two-factor/" in (response.getheader("Location") or ""):
            token = totp(TOTP_KEYS[username], self.ahead)
            response, _ = self._post_form("/staff/two-factor/", {"token": token})
            assert response.status == 302, f"second factor for {username} refused ({response.status})"


@dataclass
class Page:
    name: str
    browser: Browser | None
    path: str
    expect: str  # text the answer must contain
    target: bool = True  # counts against the dashboard targets (median <= 10 x trivial, p95 <= 40 ms)
    median_limit: float | None = None  # a target of its own: median at most this many ms (the case page)
    rows_expected: bool = True  # the answer must list at least one case
    status: int = 200
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    rows: int = 0
    text: str = ""  # the last answer (compared between the two versions of the code)
    cpu: dict[str, float] = field(default_factory=dict)  # ms per request: gunicorn, PostgreSQL

    def hit(self, anonymous: http.client.HTTPConnection) -> None:
        started = time.perf_counter()
        if self.browser is None:
            anonymous.request("GET", self.path)
            response = anonymous.getresponse()
            content = response.read()
        else:
            response, content = self.browser.request("GET", self.path)
        self.latencies.append(time.perf_counter() - started)
        text = self.text = content.decode()
        if response.status != self.status or self.expect not in text:
            self.failures += 1
        self.rows = len(REFERENCE_LINK.findall(text))
        if self.browser is not None and self.status == 200 and self.rows_expected and not self.rows:
            self.failures += 1

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) * 1000

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000


def pages(lead: Browser, manager: Browser, sample: dict[str, str]) -> list[Page]:
    def staff(query: dict) -> str:
        return "/staff/?" + urlencode(query) if query else "/staff/"

    return [
        Page("trivial view /staff/healthz/", None, "/staff/healthz/", "ok", target=False),
        # For scale: what signing in alone costs (session and user loaded, then a redirect).
        Page("signed-in redirect /staff/login/", lead, "/staff/login/", "", target=False, status=302),
        Page("lead: All (default tab)", lead, staff({}), "All"),
        Page("lead: All, 100 per page", lead, staff({"tab": "all", "per_page": 100}), "All"),
        Page("lead: All, page 20", lead, staff({"tab": "all", "page": 20}), "All"),
        Page("lead: My cases", lead, staff({"tab": "mine"}), "My cases"),
        Page("lead: Unassigned", lead, staff({"tab": "unassigned"}), "Unassigned"),
        Page("lead: Due soon", lead, staff({"tab": "due_soon"}), "Due soon"),
        Page("lead: Overdue", lead, staff({"tab": "overdue"}), "Overdue"),
        Page("manager: My cases", manager, staff({"tab": "mine"}), "My cases"),
        Page("manager: Unassigned", manager, staff({"tab": "unassigned"}), "Unassigned"),
        Page("manager: Due soon", manager, staff({"tab": "due_soon"}), "Due soon"),
        Page("manager: Overdue", manager, staff({"tab": "overdue"}), "Overdue"),
        Page(
            "lead: filter phone + Billing",
            lead,
            staff({"tab": "all", "channel": "phone", "category": sample["category"]}),
            "matching the filters",
        ),
        Page(
            "lead: filter closed, one month",
            lead,
            staff({"tab": "all", "state": "closed", "received_from": "2026-01-01", "received_to": "2026-01-31"}),
            "matching the filters",
        ),
        Page("lead: search name 'Patel'", lead, staff({"q": "Patel"}), "Patel"),
        Page("manager: search name 'Priya Patel'", manager, staff({"q": "Priya Patel"}), "Patel"),
        Page("lead: search email", lead, staff({"q": sample["email"]}), sample["email"]),
        Page("lead: search organisation", lead, staff({"q": sample["organisation"]}), "Cases matching"),
        Page("lead: search description 'firewall'", lead, staff({"q": "firewall"}), "Cases matching"),
        Page("lead: search word found nowhere", lead, staff({"q": "kangaroo"}), "0 cases match", rows_expected=False),
        Page("lead: reference", lead, staff({"q": sample["reference"]}), f"Case {sample['reference']}"),
        Page("lead: mistyped reference", lead, staff({"q": sample["mistyped"]}), "Did you mean"),
        # The case page (issue 3: median <= 25 ms): every detail, the timeline, notes, attachments.
        *[
            Page(
                f"{who}: case page",
                browser,
                f"/staff/complaints/{sample[key]}/",
                sample[key],
                target=False,
                rows_expected=False,
                median_limit=25.0,
            )
            for who, browser, key in (("lead", lead, "reference"), ("manager", manager, "manager_case"))
        ],
    ]


def measure_cpu(port: int, all_pages: list[Page], rounds: int, database: str | None = None) -> None:
    """CPU per request of each page, in gunicorn and in PostgreSQL (this database's connections).

    Requests one page ``rounds`` times in a row and reads the CPU the server's processes
    used from /proc: unlike latency, hardly moved by other work on the machine (only by
    sharing the CPUs' caches). Answers are checked as in the timed rounds.
    """
    anonymous = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for page in all_pages:
        kept = len(page.latencies)
        before = cpu_seconds(port, database or BENCH_DB, by_process=True)
        for _ in range(rounds):
            page.hit(anonymous)
        after = cpu_seconds(port, database or BENCH_DB, by_process=True)
        del page.latencies[kept:]
        # Per process: a database connection closed meanwhile (CONN_MAX_AGE) must not subtract
        # its whole life from the total; its last moments are lost instead (a few ms a minute).
        used: dict[str, float] = {}
        for key, seconds in after.items():
            part = key.split(":", 1)[0]
            used[part] = used.get(part, 0.0) + seconds - before.get(key, 0.0)
        page.cpu = {part: seconds / rounds * 1000 for part, seconds in used.items()}


# --- the servers -----------------------------------------------------------------------------------

# The Redis databases (cache, broker) of the version compared with (--before): a cache of its own,
# the broker shared with this checkout's (no worker runs and no page measured publishes a task).
BEFORE_REDIS = (10, BROKER_DB)
# --tsvector-only: a third server, this checkout answering searches from the stored words alone.
TSVECTOR_CONFIG = Path(__file__).resolve().parent / "search_tsvector_only.py"
CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')
WHITESPACE = re.compile(r"\s+")


@dataclass
class Server:
    """One version of the code, served by gunicorn on a database of its own."""

    label: str  # "after" or "before" when two are compared ("tsvector" a third), else ""
    code: Path
    database: str
    cache_db: int
    broker_db: int
    config: str | None = None  # a gunicorn config file (--tsvector-only's)
    environment: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    pages: list[Page] = field(default_factory=list)
    anonymous: http.client.HTTPConnection | None = None

    @property
    def commit(self) -> str:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=self.code, capture_output=True, text=True, check=False
        )
        return found.stdout.strip() or "unknown commit"

    def start(self, workers: int) -> None:
        self.port = free_port()
        self.process = start_gunicorn(self.environment, self.port, workers, self.config, code=self.code)
        self.anonymous = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


def holds(database: str, count: int) -> bool:
    """Does ``database`` hold the ``count`` seeded complaints (and seed_demo's few)?"""
    kept = complaints_in_database(database)
    return kept is not None and 0 <= kept - count < 10


def copy_database(source: str, server: Server) -> None:
    """``server``'s database as a copy of ``source`` (CREATE DATABASE ... TEMPLATE), migrated by its own code."""
    print(f"Copying {source} to {server.database} and migrating it with {server.code}...", flush=True)
    psql(f"DROP DATABASE IF EXISTS {server.database} WITH (FORCE)")
    psql(f"CREATE DATABASE {server.database} TEMPLATE {source}")
    manage(server.environment, "migrate", "--noinput", "-v", "0", code=server.code)
    psql("VACUUM ANALYZE", server.database)


def prepare(servers: list[Server], count: int, open_cases: int, reuse: bool, seeded: str | None) -> None:
    """Seed, copy or reuse the databases, then what each server needs (static files, authenticators).

    Compared versions serve the same rows: the later one's database is a copy of the earlier
    one's, migrated forward by its own code, as production would be; with ``seeded``, each is a
    copy of that already seeded database.
    """
    first = servers[-1]  # the earlier version when two are compared, else the only one
    fresh = True
    if reuse and holds(first.database, count):
        print(f"Reusing {first.database} with {count:,} complaints (migrating it to its code's schema).")
        manage(first.environment, "migrate", "--noinput", "-v", "0", code=first.code)
        fresh = False
    elif seeded:
        copy_database(seeded, first)
    else:
        build_database(first.environment, count, open_cases, first.database, first.code)
    if len(servers) == 2:
        later = servers[0]
        if reuse and not fresh and holds(later.database, count):
            print(f"Reusing {later.database} (migrating it to its code's schema).")
            manage(later.environment, "migrate", "--noinput", "-v", "0", code=later.code)
        else:
            copy_database(seeded or first.database, later)
    for server in servers:
        manage(server.environment, "collectstatic", "--noinput", "-v", "0", code=server.code)
        manage(server.environment, "shell", "-c", MAKE_DEVICES, code=server.code)


def measure_together(servers: list[Server], rounds: int, warmup: int) -> float:
    """Every page of every server in turn, one request at a time; the servers' order alternates each round."""
    for _ in range(warmup):
        for server in servers:
            for page in server.pages:
                page.hit(server.anonymous)
    for server in servers:
        for page in server.pages:
            page.latencies.clear()
            page.failures = 0
    started = time.perf_counter()
    for number in range(rounds):
        order = servers if number % 2 == 0 else servers[::-1]
        for index in range(len(servers[0].pages)):
            for server in order:
                server.pages[index].hit(server.anonymous)
    return time.perf_counter() - started


def report(server: Server) -> list[str]:
    """Print the server's table; return the pages that missed a target."""
    trivial = server.pages[0]
    header = f"{'page':<38} {'median':>8} {'p95':>8} {'max':>8} {'x trivial':>9} {'rows':>5}"
    print(header + f" {'CPU ms: web':>12} {'db':>5}")
    missed = []
    for page in server.pages:
        ratio = page.median / trivial.median
        print(
            f"{page.name:<38} {page.median:6.1f}ms {page.percentile(95):6.1f}ms {max(page.latencies) * 1000:6.1f}ms"
            f" {ratio:8.1f}x {page.rows:>5}"
            + (f" {page.cpu.get('gunicorn', 0):12.2f} {page.cpu.get('PostgreSQL', 0):5.2f}" if page.cpu else "")
            + (f"  {page.failures} WRONG ANSWERS" if page.failures else "")
        )
        if page.target and (ratio > 10 or page.percentile(95) > 40):
            missed.append(page.name)
        if page.median_limit and (page.median > page.median_limit or page.percentile(95) > 40):
            missed.append(page.name)
        if page.failures:
            missed.append(f"{page.name} (wrong answers)")
    print()
    if missed:
        print(
            "targets MISSED (median <= 10 x trivial, case page <= 25 ms, p95 <= 40 ms, right answers): "
            + "; ".join(missed)
        )
    else:
        print(
            f"targets met: every dashboard page's median <= 10 x trivial ({10 * trivial.median:.1f} ms) "
            "and p95 <= 40 ms, the case page's median <= 25 ms, every answer right"
        )
    return missed


def compare(after: Server, before: Server) -> None:
    """Medians side by side, and whether each page's HTML is the same (CSRF tokens blanked)."""
    old_label, new_label = before.label, after.label
    print(
        f"{'page':<38} {old_label:>8} {new_label:>8} {'change':>7} {'x trivial: ' + old_label:>18} {new_label:>8}  HTML"
    )
    same = spacing = 0
    for old, new in zip(before.pages, after.pages, strict=True):
        old_text, new_text = (CSRF_VALUE.sub(r"\1-\2", page.text) for page in (old, new))
        if old_text == new_text:
            html, same = "same", same + 1
        elif WHITESPACE.sub(" ", old_text) == WHITESPACE.sub(" ", new_text):
            html, spacing = "whitespace only", spacing + 1
        else:
            html = "DIFFERENT"
        print(
            f"{new.name:<38} {old.median:6.1f}ms {new.median:6.1f}ms {100 * (new.median / old.median - 1):+6.0f}%"
            f" {old.median / before.pages[0].median:17.1f}x {new.median / after.pages[0].median:7.1f}x  {html}"
        )
    print(f"HTML: {same} pages byte-identical, {spacing} differ in whitespace only (CSRF tokens blanked)")


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int, nargs="?", default=100_000, help="complaints to seed (100000)")
    parser.add_argument("--open", type=int, default=5000, help="open complaints among them (5000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per page (200)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up rounds (10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--cpu-rounds", type=int, default=50, help="requests per page for CPU figures (50; 0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the database (jpdit_bench_dash[_N]) afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database holding COUNT complaints")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="a checkout of the code before a change (git worktree add DIR <commit>): served beside this one, "
        "on a copy of the same data, and measured in the same rounds",
    )
    parser.add_argument("--database", help="the database's name (jpdit_bench_dash[_N]; with --before, NAME_before too)")
    parser.add_argument(
        "--seeded", metavar="NAME", help="start from a copy of this database, already seeded with COUNT complaints"
    )
    parser.add_argument(
        "--tsvector-only",
        action="store_true",
        help="also serve this checkout with searches answered by the stored tsvector alone, without the word "
        "table (bench/search_tsvector_only.py), on the same database, measured in the same rounds",
    )
    parser.add_argument("--seed-only", action="store_true", help="prepare the database(s), keep them, measure nothing")
    args = parser.parse_args()

    global BENCH_DB  # the helpers above read it: set once, before any of them runs
    BENCH_DB = args.database or database_name(args.count)
    check_services()
    labelled = args.before or args.tsvector_only
    servers = [Server("after" if labelled else "", ROOT, BENCH_DB, CACHE_DB, BROKER_DB)]
    if args.before:
        servers.append(Server("before", args.before.resolve(), f"{BENCH_DB}_before", *BEFORE_REDIS))
    scratch = Path(tempfile.mkdtemp(prefix="jpdit-bench-dash-"))
    for server in servers:
        server.environment = environment_for(
            scratch / (server.label or "code"), server.database, server.cache_db, server.broker_db
        )
        for db in (server.cache_db, server.broker_db):
            redis_db(db).flushdb()
    prepare(servers, args.count, args.open, args.reuse, args.seeded)
    if args.seed_only:
        print("Prepared and kept: " + ", ".join(server.database for server in servers))
        shutil.rmtree(scratch, ignore_errors=True)
        return 0
    if args.tsvector_only:
        after = servers[0]
        servers.append(
            Server(
                "tsvector",
                ROOT,
                after.database,
                after.cache_db,
                after.broker_db,
                config=str(TSVECTOR_CONFIG),
                environment=after.environment,
            )
        )
    open_now = psql(
        "SELECT count(*) FROM cases_complaint WHERE status IN ('received','acknowledged','investigating',"
        "'awaiting_client')",
        BENCH_DB,
    )[0][0]
    sample = sample_data()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    try:
        for server in servers:
            server.start(args.workers)
            ahead = 1 if server.config else 0
            server.pages = pages(
                Browser(server.port, *LEAD, ahead=ahead), Browser(server.port, *MANAGER, ahead=ahead), sample
            )
        wall = measure_together(servers, args.requests, args.warmup)
        if args.cpu_rounds:
            for server in servers:
                measure_cpu(server.port, server.pages, args.cpu_rounds, server.database)
    finally:
        for server in servers:
            server.stop()

    print()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average before {load_before:.2f}. "
        f"{args.count:,} complaints ({open_now:,} open); gunicorn {args.workers} sync workers, "
        f"DJANGO_ENV=production, PostgreSQL; {args.requests} requests per page, round-robin, one at a time "
        f"({wall:.0f} s)."
    )
    missed: list[str] = []
    for server in servers:
        print()
        if server.label:
            print(f"{server.label.upper()}: {server.code} at {server.commit}, database {server.database}")
        found = report(server)
        if server is servers[0]:  # the exit status is this checkout's
            missed = found
    if args.before:
        print()
        compare(servers[0], servers[1])
    if args.tsvector_only:
        print()
        compare(servers[-1], servers[0])

    if not args.keep:
        for database in dict.fromkeys(server.database for server in servers):
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    for server in servers:
        for db in (server.cache_db, server.broker_db):
            redis_db(db).flushdb()
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
