"""The HTML of the staff and client pages, written to files, to compare two versions of the code byte for byte.

Usage:
    .venv/bin/python bench/html_snapshots.py OUT_DIR [--code DIR] [--postgres NAME]
    .venv/bin/python bench/html_snapshots.py --compare BEFORE_DIR AFTER_DIR

Builds the same cases in a fresh SQLite database (``--postgres NAME``: a scratch PostgreSQL
database, made and dropped; the searches then go through PostgreSQL's word index) with the
test factories and the services, at a fixed moment (Tue 1 Dec 2026, 10:00 London; the clock
does not move), then requests the pages with Django's test client and writes each answer to
OUT_DIR/<name>.html with the CSRF tokens and the client links' keys blanked (they are
random). ``--code`` runs the code of another checkout (a git worktree of an older commit),
so that:

    .venv/bin/python bench/html_snapshots.py /tmp/before --code ../perf-before
    .venv/bin/python bench/html_snapshots.py /tmp/after
    diff -r /tmp/before /tmp/after

says whether a restructure changed what anyone sees. ``--compare`` sorts the pages into
byte-identical; "whitespace runs only" (the same once every run of spaces and newlines is read
as one space, as a browser reads it outside <pre> and <textarea>, whose contents must be
byte-identical: a run may grow or shrink, never appear or vanish); "same elements, attributes
and text" (parsed: attributes in another order, or whitespace-only text added or removed,
listed by the tag it stands in, to be read: inside a <select> or between blocks it is not
drawn, between two inline elements it is a space); and different, with the first difference.
Cases: every state of the procedure
(received, acknowledged, investigating, waiting for the client, responded upheld and not
upheld, under appeal, closed by the Director's decision, withdrawn), with and without an email
address, assigned and not, with notes, documents, questions, letters and actions; each as the
lead, as the assigned manager and as another manager; the case page after a refused change
(an empty note, a stale form, a step no longer offered, a preview); the dashboard's tabs,
filters, searches and pages as the lead and a manager; the outcome page; the public form (empty
and with errors); the client's page and the appeal form.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
PG = "postgres://postgres@127.0.0.1:5432"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')
# A client's secure link carries a random key of the case (and of the time it was made).
CLIENT_LINK = re.compile(r"(/track/)[^/\"]+(/)")


WHITESPACE = re.compile(r"\s+")
LITERAL = re.compile(r"<(textarea|pre)\b.*?</\1>", re.DOTALL)


def _events(text: str) -> tuple[list, list]:
    """The page as a browser builds it: tags with their attributes (in any order) and text with its
    spaces collapsed; and, apart, where whitespace-only text stands (the tag it is in and the one after)."""
    from html.parser import HTMLParser

    events: list = []
    blanks: list = []
    open_tags: list[str] = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            events.append(("<", tag, tuple(sorted(attrs, key=lambda pair: pair[0]))))
            if tag not in ("input", "br", "meta", "link", "img", "hr"):
                open_tags.append(tag)

        def handle_endtag(self, tag):
            events.append((">", tag))
            if open_tags and open_tags[-1] == tag:
                open_tags.pop()

        def handle_data(self, data):
            if data.strip():
                events.append(("text", WHITESPACE.sub(" ", data)))
            else:
                blanks.append((open_tags[-1] if open_tags else "", len(events)))

    Reader(convert_charrefs=True).feed(text)
    return events, blanks


def compare(before: Path, after: Path) -> int:
    """Print how the pages of two snapshot folders differ; 1 if any differs beyond whitespace and attribute order."""
    names = sorted({path.name for path in before.glob("*.html")} | {path.name for path in after.glob("*.html")})
    identical, spacing, same_dom, different = [], [], {}, []
    for name in names:
        old, new = (folder / name for folder in (before, after))
        if not old.exists() or not new.exists():
            different.append((name, "only in " + str(before if old.exists() else after)))
            continue
        old_text, new_text = old.read_text(), new.read_text()
        if old_text == new_text:
            identical.append(name)
            continue
        if WHITESPACE.sub(" ", old_text) == WHITESPACE.sub(" ", new_text) and LITERAL.findall(
            old_text
        ) == LITERAL.findall(new_text):
            spacing.append(name)
            continue
        (old_events, old_blanks), (new_events, new_blanks) = _events(old_text), _events(new_text)
        if old_events == new_events and LITERAL.findall(old_text) == LITERAL.findall(new_text):
            # Where whitespace-only text appears or vanishes: inside which tag, before which event.
            moved = {(tag, at) for tag, at in old_blanks} ^ {(tag, at) for tag, at in new_blanks}
            same_dom[name] = sorted({tag for tag, _at in moved})
            continue
        at = next(
            (i for i, (a, b) in enumerate(zip(old_events, new_events, strict=False)) if a != b),
            min(len(old_events), len(new_events)),
        )
        different.append((name, f"{old_events[at : at + 3]}\n    -> {new_events[at : at + 3]}"))
    print(
        f"{len(names)} pages: {len(identical)} byte-identical, {len(spacing)} differ in the length of whitespace "
        f"runs only, {len(same_dom)} have the same elements, attributes and text (attributes in another order, "
        f"whitespace-only text added or removed), {len(different)} differ"
    )
    for name in spacing:
        print(f"  whitespace runs only: {name}")
    for name, tags in same_dom.items():
        print(f"  same elements, attributes and text: {name} (whitespace-only text changed inside: {', '.join(tags)})")
    by_difference: dict[str, list[str]] = {}
    for name, where in different:
        by_difference.setdefault(where, []).append(name)
    for where, pages in by_difference.items():
        print(f"  DIFFERENT ({len(pages)} pages: {', '.join(pages[:4])}{', ...' if len(pages) > 4 else ''}):")
        print(f"    {where}")
    return 1 if different else 0


def main() -> int:
    if sys.argv[1:2] == ["--compare"] and len(sys.argv) == 4:
        return compare(Path(sys.argv[2]), Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument(
        "--postgres", metavar="NAME", help="a scratch PostgreSQL database (127.0.0.1, user postgres; made and dropped)"
    )
    args = parser.parse_args()
    code = args.code.resolve()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="jpdit-snapshots-"))
    os.chdir(code)
    sys.path.insert(0, str(code))
    os.environ["DJANGO_ENV"] = "test"
    os.environ["DJANGO_SETTINGS_MODULE"] = "jpdit_complaints.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'snapshots.sqlite3'}"
    if args.postgres:
        os.environ["DATABASE_URL"] = f"{PG}/{args.postgres}"
        _psql(f"DROP DATABASE IF EXISTS {args.postgres} WITH (FORCE)")
        _psql(f"CREATE DATABASE {args.postgres}")
    os.environ.pop("TEST_REDIS_URL", None)

    import time_machine

    with time_machine.travel(NOW, tick=False):
        import django

        django.setup()
        from django.core.management import call_command
        from django.test.utils import setup_test_environment

        setup_test_environment()
        logging.disable(logging.WARNING)
        call_command("migrate", verbosity=0)
        pages = build_and_request()
        if args.postgres:
            from django.db import connections

            connections.close_all()
            _psql(f"DROP DATABASE IF EXISTS {args.postgres} WITH (FORCE)")
    for name, (status, body) in pages.items():
        (out / f"{name}.html").write_text(f"{status}\n" + CLIENT_LINK.sub(r"\1-\2", CSRF.sub(r"\1-\2", body)))
    print(f"{len(pages)} pages written to {out} (code: {code})")
    return 0


def build_and_request() -> dict[str, tuple[int, str]]:
    import factory.random
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from appeals import services as appeal_services
    from appeals.models import Appeal
    from cases import business_days, links, services
    from cases.models import Complaint
    from tests.factories import (
        AcknowledgedComplaintFactory,
        AttachmentFactory,
        CategoryFactory,
        ComplaintFactory,
        director,
        lead,
        manager,
    )

    factory.random.reseed_random(2026)  # Faker's names, emails and paragraphs: the same every run
    Status = Complaint.Status
    boss = lead(username="lena", first_name="Lena", last_name="Lead")
    worker = manager(username="max", first_name="Max", last_name="Manager")
    other = manager(username="olive", first_name="Olive", last_name="O'Neil & Co")
    judge = director(username="dora", first_name="Dora", last_name="Director")
    billing = CategoryFactory(name="Billing")
    CategoryFactory(name='Fees <"extra"> & more')
    CategoryFactory(name="Retired", active=False)
    service_quality = CategoryFactory(name="Service quality")
    now = timezone.now()
    today = business_days.london_today()

    def investigating(**kwargs) -> Complaint:
        complaint = AcknowledgedComplaintFactory(assignee=worker, **kwargs)
        return services.complaint_start_investigation(actor=worker, complaint=complaint)

    def answered(complaint: Complaint, **kwargs) -> Complaint:
        complaint.refresh_from_db()
        return services.complaint_issue_outcome(actor=worker, complaint=complaint, **kwargs)

    cases: dict[str, Complaint] = {}
    cases["received"] = ComplaintFactory(received_at=now - timedelta(days=1))
    cases["received-after-hours"] = ComplaintFactory(
        received_at=datetime(2026, 11, 27, 18, 0, tzinfo=LONDON), assignee=worker, email="", phone=""
    )
    cases["acknowledged-unassigned"] = AcknowledgedComplaintFactory(received_at=now - timedelta(days=2))
    acknowledged = AcknowledgedComplaintFactory(assignee=worker, category=billing, postal_address="1 High St\nMarlow")
    AttachmentFactory(complaint=acknowledged, original_name="engineer-report.pdf", size=123456)
    services.complaint_add_note(actor=boss, complaint=acknowledged, text="Assigned to Max.\n\nCall <b>first</b>.")
    cases["acknowledged"] = acknowledged

    busy = investigating(name="Ada O'Lovelace <script>", organisation="Analytical & Engines")
    for number in range(3):
        services.complaint_add_note(actor=worker, complaint=busy, text=f"Note {number}: called the client.")
        AttachmentFactory(complaint=busy, original_name=f"scan-{number}.pdf")
    busy.refresh_from_db()
    services.complaint_request_information(actor=worker, complaint=busy, message="Which site?\nAnd when?")
    services.complaint_client_reply(complaint=busy, text="The Wycombe office, from 9:15.")
    cases["investigating"] = busy
    cases["investigating-no-email"] = investigating(email="", preferred_contact="phone")

    waiting = investigating(category=service_quality)
    services.complaint_request_information(actor=worker, complaint=waiting, message="Please send the invoice.")
    cases["awaiting-client"] = waiting

    upheld = investigating()
    action_spec = services.ActionSpec
    upheld = answered(
        upheld,
        outcome=Complaint.Outcome.UPHELD,
        findings="The visit was booked\nfor the wrong day.",
        actions=[
            action_spec(
                kind="put_right", description="Refund the fee.", owner=worker, due_date=today + timedelta(days=7)
            ),
            action_spec(kind="prevent_recurrence", description="Retrain the rota team.", owner=boss, due_date=today),
        ],
    )
    cases["responded-upheld"] = upheld
    cases["responded-not-upheld"] = answered(
        investigating(), outcome=Complaint.Outcome.NOT_UPHELD, findings="On time.", reasons="The logs show it."
    )

    appealed = answered(investigating(), outcome=Complaint.Outcome.NOT_UPHELD, findings="Fine.", reasons="Logs.")
    appeal = appeal_services.appeal_log(
        actor=boss,
        complaint=appealed,
        channel=Appeal.Channel.LETTER,
        received_at=now,
        reasons="You did not read\nmy logs.",
    )
    appeal_services.appeal_acknowledge(appeal=appeal, at=now, actor=boss)
    cases["under-appeal"] = appealed

    decided = answered(investigating(), outcome=Complaint.Outcome.NOT_UPHELD, findings="Fine.", reasons="Logs.")
    decided_appeal = appeal_services.appeal_lodge(complaint=decided, reasons="Please look again.")
    appeal_services.appeal_acknowledge(appeal=decided_appeal, at=now, actor=boss)
    decided_appeal.refresh_from_db()
    appeal_services.appeal_decide(
        actor=judge,
        appeal=decided_appeal,
        decision=Appeal.Decision.ORIGINAL_DECISION_CHANGED,
        reasons="The logs were misread.",
        recommendations="Read logs twice.",
        actions=[action_spec(kind="put_right", description="Apologise.", owner=worker, due_date=today)],
        **({"new_outcome": Complaint.Outcome.UPHELD} if "new_outcome" in appeal_decide_parameters() else {}),
    )
    cases["closed-by-appeal"] = decided
    cases["withdrawn"] = ComplaintFactory(status=Status.WITHDRAWN, assignee=worker)

    # The dashboard's lists: enough open cases for several pages, some overdue, some due soon.
    for number in range(40):
        kind = AcknowledgedComplaintFactory if number % 3 else ComplaintFactory
        kind(
            received_at=now - timedelta(days=number, hours=number % 5),
            assignee=(worker, None, other, boss)[number % 4],
            category=(billing, None, service_quality)[number % 3],
            channel=("web", "phone", "email", "letter", "in_person")[number % 5],
            name=("Priya Patel", "Patrick Smith", "Sam Jones", "Zoë Brown")[number % 4],
            organisation=("Chiltern Estates", "", "Quince Mail Ltd")[number % 3],
            email=f"client{number}@quince-mail.test",
            description=("Our firewall failed.", "The invoice was wrong.", "Nobody came.")[number % 3],
        )
    ComplaintFactory.create_batch(3, status=Status.CLOSED, received_at=datetime(2026, 1, 15, 12, 0, tzinfo=LONDON))

    signed_in = {}
    for who, user in (("lead", boss), ("manager", worker), ("other-manager", other)):
        signed_in[who] = Client()
        signed_in[who].force_login(user)
    pages: dict[str, tuple[int, str]] = {}

    def keep(name: str, response) -> None:
        pages[name] = (response.status_code, response.content.decode())

    for label, complaint in cases.items():
        url = reverse("staff:case", args=[complaint.reference])
        for who, client in signed_in.items():
            keep(f"case-{label}-{who}", client.get(url))

    def post(who: str, name: str, complaint: Complaint, data: dict):
        complaint.refresh_from_db()
        return signed_in[who].post(reverse(f"staff:{name}", args=[complaint.reference]), data)

    def revision(prefix: str, complaint: Complaint, seen: int = 0, **fields) -> dict:
        complaint.refresh_from_db()
        data = {f"{prefix}-expected_revision": complaint.revision, f"{prefix}-seen_event": seen}
        data.update({f"{prefix}-{name}": value for name, value in fields.items()})
        return data

    keep("refused-empty-note", post("manager", "case_note", busy, revision("note", busy, text="  ")))
    stale = revision("assign", busy, seen=1, assignee=str(other.pk))
    stale["assign-expected_revision"] = 0
    keep("refused-stale-assign", post("lead", "case_assign", busy, stale))
    stale_note = revision("categorise", busy, seen=1, category=str(billing.pk))
    stale_note["categorise-expected_revision"] = 0
    keep("refused-stale-category", post("manager", "case_categorise", busy, stale_note))
    received = cases["received"]
    keep("refused-start-not-offered", post("lead", "case_start", received, revision("start", received)))
    keep("refused-bad-date", post("lead", "case_extend", busy, revision("extend", busy, new_date="soon", reason="")))
    keep(
        "refused-request-not-offered",
        post("manager", "case_request_information", waiting, revision("request", waiting, message="Again?")),
    )
    preview = revision("request", busy, message="Could you send the invoice <number>?")
    preview["preview"] = "1"
    keep("preview-question", post("manager", "case_request_information", busy, preview))
    keep("refused-no-revision", post("manager", "case_pick_up", cases["acknowledged-unassigned"], {}))

    dashboard = reverse("staff:home")
    queries = {
        "default": {},
        "mine": {"tab": "mine"},
        "unassigned": {"tab": "unassigned"},
        "due-soon": {"tab": "due_soon"},
        "overdue": {"tab": "overdue"},
        "all-page-2": {"tab": "all", "per_page": "10", "page": "2"},
        "all-page-4": {"tab": "all", "per_page": "10", "page": "4"},
        "filter-phone-billing": {"tab": "all", "channel": "phone", "category": str(billing.pk)},
        "filter-closed-january": {"state": "closed", "received_from": "2026-01-01", "received_to": "2026-01-31"},
        "filter-errors": {"received_from": "2026-02-01", "received_to": "2026-01-01", "due_before": "x", "page": "x"},
        "filter-assignee": {"assignee": str(other.pk), "sort": "received"},
        "sort-reference": {"sort": "reference", "per_page": "50"},
        "search-patel": {"q": "Patel"},
        "search-pat": {"q": "pat"},
        "search-two-words": {"q": "Priya Patel"},
        "search-organisation": {"q": "Chiltern Estates"},
        "search-email": {"q": "client7@quince-mail.test"},
        "search-email-start": {"q": "client1"},
        "search-hyphen": {"q": "quince-mail"},
        "search-nowhere": {"q": "kangaroo"},
        "search-short": {"q": "ab"},
        "search-short-and-long": {"q": "ab firewall"},
        "search-paged": {"q": "quince", "per_page": "10", "page": "2"},
        "search-reference": {"q": cases["investigating"].reference},
        "search-reference-lower": {"q": cases["investigating"].reference.lower().replace("-", "")},
        "search-mistyped-reference": {"q": mistyped(cases["investigating"].reference)},
        "search-with-filter": {"q": "firewall", "channel": "phone"},
        "search-syntax": {"q": "pat:* & 'x' | (y) %_"},
    }
    for name, query in queries.items():
        for who in ("lead", "manager"):
            keep(f"dashboard-{name}-{who}", signed_in[who].get(dashboard, query))
    keep("dashboard-director", _signed_in(judge).get(dashboard))

    keep("outcome-page", signed_in["manager"].get(reverse("staff:outcome", args=[busy.reference])))
    anonymous = Client()
    keep("public-form", anonymous.get("/"))
    keep("public-form-errors", anonymous.post("/", {"name": "", "email": "not an email"}))
    keep("client-waiting", anonymous.get(links.client_url(waiting).replace("http://testserver", "")))
    keep("client-responded", anonymous.get(links.client_url(upheld).replace("http://testserver", "")))
    client_url = links.client_url(upheld).replace("http://testserver", "")
    keep("client-appeal-form", anonymous.get(client_url.rstrip("/") + "/appeal/"))
    keep("staff-log-complaint", signed_in["lead"].get(reverse("staff:complaint_log")))
    return pages


def _psql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(statement)


def appeal_decide_parameters() -> set[str]:
    import inspect

    from appeals import services as appeal_services

    return set(inspect.signature(appeal_services.appeal_decide).parameters)


def mistyped(reference: str) -> str:
    """Two neighbouring different digits of the sequence swapped."""
    prefix, year, digits, letter = reference.split("-")
    index = next(i for i in range(len(digits) - 1) if digits[i] != digits[i + 1])
    return f"{prefix}-{year}-{digits[:index]}{digits[index + 1]}{digits[index]}{digits[index + 2 :]}-{letter}"


def _signed_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


if __name__ == "__main__":
    sys.exit(main())
