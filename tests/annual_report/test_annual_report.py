"""The published annual report (issue 20, point 2): the Director's yearly summary, from a draft seen by staff only
to a public page and PDF with no personal data; a published year changes only by a new version, which says so.

Every test fixes its clock (15 February 2027: the year 2026 is over), so none depends on the day the suite runs.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases.models import Complaint, RootCause
from reports import annual, selectors
from reports.models import AnnualReport, AnnualReportChangeRefused
from tests.factories import AcknowledgedComplaintFactory, director, lead
from tests.services import missing

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
NOW = dt.datetime(2027, 2, 15, 12, 0, tzinfo=LONDON)
CHANGES = "Every booking is now confirmed by text the day before, and engineers carry the client's plan."
State = AnnualReport.State


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def answered(day: int, cause: RootCause, **fields) -> Complaint:
    received = dt.datetime(2026, 6, day, 10, 0, tzinfo=LONDON)
    values = {
        "status": Complaint.Status.CLOSED,
        "received_at": received,
        "acknowledged_at": received,
        "responded_at": received + dt.timedelta(days=5),
        "outcome": Complaint.Outcome.UPHELD,
        "root_cause": cause,
    }
    return AcknowledgedComplaintFactory(**{**values, **fields})


@pytest.fixture
def year_2026():
    """Four answered complaints of 2026 with personal details a public page must never show."""
    booking = RootCause.objects.create(name="Booking or scheduling error")
    rare = RootCause.objects.create(name="Courier lost the replacement router")
    people = [
        answered(2, booking, name="Zebedee Quixote", email="zebedee@example.org", organisation="Quixotic Holdings"),
        answered(3, booking, name="Tamsin Fairweather", email="tamsin@example.net", lesson="Tamsin's call was missed"),
        answered(4, booking, channel=Complaint.Channel.PHONE, name="Olu Adebayo", email="olu@example.com"),
        answered(5, rare, outcome=Complaint.Outcome.NOT_UPHELD, name="Bea Lonely", email="bea@example.com"),
    ]
    secrets = [value for c in people for value in (c.reference, c.name, c.email, c.organisation, c.lesson) if value]
    return {"people": people, "secrets": [*secrets, rare.name]}


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout
    return " ".join(out.decode().split())


def test_a_draft_freezes_the_years_figures_from_the_reports_and_only_a_director_makes_one(year_2026):
    with pytest.raises(PermissionDenied):
        annual.annual_report_start(actor=lead(), year=2026)
    boss = director()

    draft = annual.annual_report_start(actor=boss, year=2026)

    figures = selectors.report(selectors.Period.year(2026), selectors.Filters())
    assert (draft.state, draft.version, draft.figures_as_of) == (State.DRAFT, 1, NOW.date())
    assert draft.figures["received"] == figures.received == 4
    assert draft.figures["channels"][:2] == [["Web form", 3], ["Phone", 1]]
    assert draft.figures["outcomes"][0] == ["Upheld", 3]
    # Small numbers: the cause of one complaint is not named, only counted.
    assert draft.figures["root_causes"] == [["Booking or scheduling error", 3]]
    assert draft.figures["other_causes"] == 1
    assert draft.figures["satisfaction"]["averages"] == []  # fewer than five answers: no averages
    # Frozen: a complaint found later changes the draft only when the Director takes the figures again.
    answered(9, RootCause.objects.first())
    assert AnnualReport.objects.get(pk=draft.pk).figures["received"] == 4
    assert annual.annual_report_start(actor=boss, year=2026) == draft  # the year's draft, not a second one
    refreshed = annual.annual_report_refresh(actor=boss, report=draft, expected_revision=draft.revision)
    assert refreshed.figures["received"] == 5
    with pytest.raises(annual.StaleReport):
        annual.annual_report_refresh(actor=boss, report=draft, expected_revision=draft.revision)
    # Approval waits for the end of the year and the Director's account of what changed.
    assert annual.approval_problems(refreshed, dt.date(2026, 12, 31)) == [
        "The year 2026 has not ended: its report can be approved from 1 January.",
        "Say what changed because of the root causes before approving.",
    ]


def test_the_director_approves_and_publishes_it_on_a_public_page_and_pdf_that_name_no_client(
    client, year_2026, django_capture_on_commit_callbacks
):
    boss = director(first_name="Helen", last_name="Price")
    client.force_login(boss)
    started = client.post(reverse("reports:annual_start"), {"year": "2026"})
    report = AnnualReport.objects.get()
    assert started.status_code == 303
    page = reverse("reports:annual_report", args=[report.pk])

    unexplained = client.post(reverse("reports:annual_approve", args=[report.pk]), {"expected_revision": 0})
    assert unexplained.status_code == 400
    assert "Say what changed" in text(unexplained)
    person = year_2026["people"][0]
    for leak, why in (
        (f"As {person.reference} showed, bookings slipped.", "Remove the case reference"),
        ("Write to zeb@example.org for details.", "Remove the email address"),
        ("After zebedee QUIXOTE complained we changed.", "Remove “Zebedee Quixote”"),
    ):
        refused = client.post(
            reverse("reports:annual_edit", args=[report.pk]), {"expected_revision": 0, "changes": leak}
        )
        assert refused.status_code == 400
        assert why in text(refused)
    saved = client.post(reverse("reports:annual_edit", args=[report.pk]), {"expected_revision": 0, "changes": CHANGES})
    assert saved.status_code == 303
    public_url = reverse("public:annual_report_version", args=[2026, 1])
    assert client.get(public_url).status_code == 404  # a draft is for staff only
    assert client.post(reverse("reports:annual_approve", args=[report.pk]), {"expected_revision": 1}).status_code == 303
    assert client.get(public_url).status_code == 404  # approved, not yet published
    client.force_login(lead())
    assert CHANGES in text(client.get(page))  # staff read the draft
    assert client.post(reverse("reports:annual_publish", args=[report.pk]), {"expected_revision": 2}).status_code == 403

    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        published = client.post(reverse("reports:annual_publish", args=[report.pk]), {"expected_revision": 2})

    assert published.status_code == 303
    report.refresh_from_db()
    assert (report.state, report.approved_by, report.published_by) == (State.PUBLISHED, boss, boss)
    assert report.approved_at == report.published_at == NOW
    assert report.pdf.name  # stored once, when published
    client.logout()
    procedure = client.get(reverse("public:procedure")).content.decode()
    assert reverse("public:annual_reports") in procedure
    assert reverse("public:annual_report", args=[2026]) in client.get(reverse("public:annual_reports")).content.decode()
    public_page = text(client.get(reverse("public:annual_report", args=[2026])))
    assert "Version 1, published 15 February 2027." in public_page
    assert "Complaints received: 4" in public_page
    assert CHANGES in public_page
    assert "Other causes 1" in public_page
    pdf = client.get(reverse("public:annual_report_pdf", args=[2026, 1]))
    assert pdf["Content-Type"] == "application/pdf"
    pdf_words = pdf_text(b"".join(pdf.streaming_content))
    assert "How we handled complaints in 2026" in pdf_words
    assert "Booking or scheduling error" in pdf_words
    for secret in year_2026["secrets"]:
        assert secret not in public_page
        assert secret not in pdf_words


def test_a_published_version_never_changes_and_a_correction_is_a_new_version_that_says_so(client, year_2026):
    boss = director()
    first = annual.annual_report_start(actor=boss, year=2026)
    first = annual.annual_report_edit(actor=boss, report=first, foreword="Our first report.", changes=CHANGES)
    first = annual.annual_report_publish(
        actor=boss, report=annual.annual_report_approve(actor=boss, report=first), now=NOW - dt.timedelta(days=10)
    )

    first.changes = "Quietly rewritten."
    with pytest.raises(AnnualReportChangeRefused):
        first.save()
    with pytest.raises(ValidationError, match="only a draft can be changed"):
        annual.annual_report_edit(actor=boss, report=first, foreword="", changes="Quietly rewritten.")
    second = annual.annual_report_start(actor=boss, year=2026)
    assert (second.version, second.foreword, second.changes) == (2, "Our first report.", CHANGES)
    second = annual.annual_report_edit(actor=boss, report=second, foreword="Corrected.", changes=CHANGES)
    assert text(client.get(reverse("public:annual_report", args=[2026]))).count("Our first report.") == 1

    annual.annual_report_publish(actor=boss, report=annual.annual_report_approve(actor=boss, report=second))

    first.refresh_from_db()
    assert (first.state, first.changes) == (State.SUPERSEDED, CHANGES)
    current = text(client.get(reverse("public:annual_report", args=[2026])))
    assert "Version 2, published 15 February 2027, replaces version 1 (published 5 February 2027)." in current
    assert "Corrected." in current
    old = text(client.get(reverse("public:annual_report_version", args=[2026, 1])))
    assert "This version was replaced by version 2, published 15 February 2027" in old
    assert "Our first report." in old
    assert text(client.get(reverse("public:annual_reports"))).count("Complaint handling in 2026") == 1
