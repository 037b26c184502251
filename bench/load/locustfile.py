"""The load test's people (issue 8, point 3): clients filing and tracking complaints, staff working cases.

Run by bench/load.py (``locust --headless``, never imported by pytest: locust patches the standard
library with gevent). Three kinds of user, in the proportions of their weights:

- ``FilingClient`` (2): a new person each time, with their own address (X-Forwarded-For, as the
  proxy in front of production sends it, so the intake's per-address limit applies to each person
  and not to the load generator): GET the form, POST it with every required field as a browser
  would (multipart; a small PDF one time in three, its bytes different every time), GET the
  confirmation page and read the reference on it, then follow the "Follow your complaint" link.
  Each reference read is appended to $JPDIT_LOAD_FILED, one a line, for the runner's checks.
- ``TrackingClient`` (2): opens the secure link of an existing case (lines of $JPDIT_LOAD_TRACKING:
  "<reference> <path>") and sometimes the published procedure.
- ``StaffMember`` (1): signs in once at /staff/login/ as one of the accounts in $JPDIT_LOAD_STAFF
  (comma-separated usernames, password $JPDIT_LOAD_PASSWORD), then uses the dashboard: its tabs, a
  search, and the page of a case it saw listed.

Every response a person would not have seen (an error, a refusal, a redirect elsewhere, a page
without what it should show) is marked a failure.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
REFERENCE = re.compile(r'class="reference-number[^"]*"><strong>([A-Z0-9-]+)</strong>')
TRACK_LINK = re.compile(r'href="(/track/[^"/]+/)"')
CASE_LINK = re.compile(r'href="/staff/complaints/([A-Z0-9-]+)/"')
TAB_LINK = re.compile(r'href="\?tab=(\w+)"')
RECEIVED_PATH = "/complaint/received/"
SEARCH_WORDS = ("engineer", "invoice", "firewall", "backup", "password", "laptop", "broadband", "refund")


def _lines(variable: str) -> list[str]:
    path = os.environ.get(variable, "")
    return [line for line in Path(path).read_text().splitlines() if line.strip()] if path else []


TRACKING = [tuple(line.split(" ", 1)) for line in _lines("JPDIT_LOAD_TRACKING")]
STAFF = [name for name in os.environ.get("JPDIT_LOAD_STAFF", "").split(",") if name]
PASSWORD = os.environ.get("JPDIT_LOAD_PASSWORD", "")
FILED = Path(os.environ["JPDIT_LOAD_FILED"]) if os.environ.get("JPDIT_LOAD_FILED") else None
SUMMARY = Path(os.environ["JPDIT_LOAD_SUMMARY"]) if os.environ.get("JPDIT_LOAD_SUMMARY") else None

_people = itertools.count(1)
_accounts = itertools.count()


def new_person() -> tuple[int, str]:
    """A number and a fresh address in 10.0.0.0/8, one per simulated person."""
    n = next(_people)
    return n, f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


def small_pdf(n: int) -> bytes:
    """A whole, tiny PDF whose bytes differ for each complaint (no two documents alike)."""
    return (
        b"%PDF-1.4\n% engineer's visit report " + str(n).encode() + b"\n"
        b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


class FilingClient(HttpUser):
    """A member of the public filing a complaint on the website: a different person every time."""

    weight = 2
    wait_time = between(1, 3)

    @task
    def file_a_complaint(self) -> None:
        self.client.cookies.clear()  # a new person: no cookies from the last one
        person, address = new_person()
        headers = {"X-Forwarded-For": address}

        with self.client.get("/", headers=headers, catch_response=True) as response:
            fields = hidden_fields(response.text)
            if response.status_code != 200 or "csrfmiddlewaretoken" not in fields:
                response.failure(f"form page: {response.status_code}, no CSRF token")
                return

        incident = datetime.now(ZoneInfo("Europe/London")).date() - timedelta(days=random.randint(2, 30))
        data = {
            **fields,
            "name": f"Load Client {person}",
            "email": f"client-{person}@example.com",
            "phone": "",
            "organisation": "Chiltern Dental Practice" if person % 3 == 0 else "",
            "preferred_contact": "email",
            "postal_address": "",
            "incident_date": incident.isoformat(),
            "description": (
                f"Complaint {person}: the engineer booked for our {random.choice(SEARCH_WORDS)} problem "
                "arrived hours late and left without fixing it."
            ),
            "desired_outcome": "A refund of the call-out fee.",
            "privacy_ack": "on",
            "website": "",  # the honeypot: people leave it empty
        }
        if person % 3 == 0:
            document = ("engineer-report.pdf", small_pdf(person), "application/pdf")
        else:
            document = ("", b"", "application/octet-stream")  # what a browser sends with no file chosen
        with self.client.post(
            "/", data=data, files={"documents": document}, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            location = response.headers.get("Location", "").split("#", 1)[0]
            if response.status_code != 303 or not location.startswith(RECEIVED_PATH):
                response.failure(f"filing: {response.status_code} {location!r} {_error_summary(response.text)}")
                return

        with self.client.get(
            location, headers=headers, name=f"{RECEIVED_PATH}[token]/", catch_response=True
        ) as response:
            found = REFERENCE.search(response.text)
            track = TRACK_LINK.search(response.text)
            if response.status_code != 200 or not found or not track:
                response.failure(f"confirmation: {response.status_code}, no reference or tracking link shown")
                return
        reference = found.group(1)
        if FILED is not None:
            with FILED.open("a") as out:
                out.write(reference + "\n")

        with self.client.get(track.group(1), headers=headers, name="/track/[token]/", catch_response=True) as response:
            if response.status_code != 200 or reference not in response.text:
                response.failure(f"own case page after filing: {response.status_code}, reference not shown")


class TrackingClient(HttpUser):
    """A client following an existing case from the secure link in their email."""

    weight = 2
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["X-Forwarded-For"] = new_person()[1]
        self.reference, self.path = random.choice(TRACKING)

    @task(4)
    def look_at_my_case(self) -> None:
        with self.client.get(self.path, name="/track/[token]/", catch_response=True) as response:
            if response.status_code != 200 or self.reference not in response.text:
                response.failure(f"case page: {response.status_code}, reference not shown")
            elif response.headers.get("Cache-Control", "").find("no-store") < 0:
                response.failure("case page cacheable (no Cache-Control: no-store)")

    @task(1)
    def read_the_procedure(self) -> None:
        with self.client.get("/procedure/", catch_response=True) as response:
            if response.status_code != 200 or "working day" not in response.text:
                response.failure(f"procedure: {response.status_code}")


class StaffMember(HttpUser):
    """A manager or complaints lead: signs in once, then works from the dashboard."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["X-Forwarded-For"] = new_person()[1]
        self.username = STAFF[next(_accounts) % len(STAFF)]
        self.seen: list[str] = []
        self.tabs: list[str] = []
        self.signed_in = False
        with self.client.get("/staff/login/", catch_response=True) as response:
            token = CSRF.search(response.text)
            if response.status_code != 200 or not token:
                response.failure(f"sign-in page: {response.status_code}")
                return
        form = {"csrfmiddlewaretoken": token.group(1), "username": self.username, "password": PASSWORD, "next": ""}
        with self.client.post("/staff/login/", data=form, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302 or response.headers.get("Location") != "/staff/":
                response.failure(f"sign-in as {self.username}: {response.status_code} {_error_summary(response.text)}")
                return
        self.signed_in = True
        self._dashboard("/staff/", "/staff/")

    def _dashboard(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200 or 'id="dashboard-results"' not in response.text:
                response.failure(f"dashboard {name}: {response.status_code} {response.headers.get('Location', '')}")
                return
            listed = CASE_LINK.findall(response.text)
            if listed:
                self.seen = listed
            self.tabs = TAB_LINK.findall(response.text) or self.tabs

    @task(3)
    def open_a_tab(self) -> None:
        if self.signed_in:
            tab = random.choice(self.tabs) if self.tabs else ""
            self._dashboard(f"/staff/?tab={tab}", "/staff/?tab=[tab]")

    @task(1)
    def search(self) -> None:
        if self.signed_in:
            self._dashboard(f"/staff/?q={random.choice(SEARCH_WORDS)}", "/staff/?q=[words]")

    @task(3)
    def open_a_case(self) -> None:
        if not self.signed_in or not self.seen:
            return
        reference = random.choice(self.seen)
        with self.client.get(
            f"/staff/complaints/{reference}/",
            name="/staff/complaints/[reference]/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200 or f"Complaint {reference}" not in response.text:
                response.failure(f"case page {reference}: {response.status_code}")


def _error_summary(page: str) -> str:
    """The first error message of a form page, for the failure report (no personal data in it)."""
    found = re.search(r'<li><a href="#[^"]+">([^<]+)</a></li>', page) or re.search(r"<title>([^<]+)</title>", page)
    return found.group(1).strip()[:120] if found else ""


# --- the figures, for the runner -------------------------------------------------------------------

_environment = None
# Every request as (seconds since the first, method, name, ms): the runner's figures after the ramp-up.
_requests: list[tuple[float, str, str, float]] = []


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, start_time: float = 0.0, **_kwargs) -> None:
    _requests.append((start_time, request_type, name, response_time))


@events.init.add_listener
def _keep_environment(environment, **_kwargs) -> None:
    global _environment
    _environment = environment


@events.quit.add_listener
def _write_summary(exit_code: int, **_kwargs) -> None:
    """Every endpoint's figures once all users have stopped ($JPDIT_LOAD_SUMMARY, JSON).

    Written here because locust's CSV files are refreshed once a second and miss the last requests.
    """
    if SUMMARY is None or _environment is None:
        return
    stats = _environment.stats
    first = min((t for t, *_ in _requests), default=0.0)

    def figures(entry) -> dict:
        measured = entry.num_requests > 0
        return {
            "method": entry.method or "",
            "name": entry.name,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.5) if measured else None,
            "p95": entry.get_response_time_percentile(0.95) if measured else None,
            "rps": entry.total_rps,
        }

    summary = {
        "exit_code": exit_code,
        "endpoints": [figures(entry) for entry in stats.entries.values()],
        "total": figures(stats.total),
        "errors": [f"{e.occurrences} x {e.method} {e.name}: {e.error}" for e in stats.errors.values()],
        "requests": [[round(t - first, 3), method, name, round(ms, 1)] for t, method, name, ms in _requests],
    }
    SUMMARY.write_text(json.dumps(summary, indent=2))
