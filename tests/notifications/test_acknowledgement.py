"""The acknowledgement email and the fresh-link email: what they say, and what sending them does."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services as case_services
from cases.models import Complaint, ComplaintEvent
from notifications import services
from notifications.models import OutboundMessage
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# docs/specification.md's worked example: received Thu 24 Dec 2026 10:00, acknowledged that day,
# outcome due Tue 12 Jan 2027 (25 and 28 Dec and 1 Jan are bank holidays).
CHRISTMAS_EVE = datetime(2026, 12, 24, 10, 0, tzinfo=LONDON)
TRACKING_PATH = re.compile(r"http://testserver(/track/[^/\s\"<]+/)")


def send_acknowledgement(details):
    complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint, kind="complaint_acknowledgement")
    assert services.message_deliver(message.pk) == "sent"
    complaint.refresh_from_db()
    return complaint, mail.outbox[-1]


def html_of(email) -> str:
    (html, content_type), *_ = email.alternatives
    assert content_type == "text/html"
    return html


@time_machine.travel(CHRISTMAS_EVE, tick=False)
def test_sending_the_acknowledgement_acknowledges_the_complaint_by_the_calendar(details):
    complaint, _ = send_acknowledgement(details)
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.acknowledged_at == CHRISTMAS_EVE
    assert complaint.outcome_due == date(2027, 1, 12)
    event = complaint.events.get(kind=ComplaintEvent.Kind.ACKNOWLEDGED)
    assert event.client_visible
    assert event.to_status == Complaint.Status.ACKNOWLEDGED


@time_machine.travel(CHRISTMAS_EVE, tick=False)
def test_acknowledgement_carries_the_reference_in_subject_and_both_bodies(details):
    complaint, email = send_acknowledgement(details)
    assert email.subject == f"Your complaint {complaint.reference} has been received"
    assert complaint.reference in email.body
    assert complaint.reference in html_of(email)
    assert "quote it" in email.body
    assert email.to == ["ada@example.com"]
    assert email.reply_to == ["complaints@jpditservices.com"]


@time_machine.travel(CHRISTMAS_EVE, tick=False)
def test_acknowledgement_gives_the_received_and_outcome_due_dates(details):
    _, email = send_acknowledgement(details)
    for body in (email.body, html_of(email)):
        assert "Thursday 24 December 2026 at 10:00" in body
        assert "Tuesday 12 January 2027" in body


def test_acknowledgement_explains_what_happens_next_and_how_to_reach_us(details):
    _, email = send_acknowledgement(details)
    for body in (email.body, html_of(email)):
        assert "manager will investigate" in body
        assert "more information" in body
        assert "complaints@jpditservices.com" in body
        assert "01293 226165" in body
        assert "sensitive information" in body


def test_acknowledgement_says_how_long_the_link_works(settings, details):
    settings.CLIENT_LINK_MAX_AGE_DAYS = 45
    _, email = send_acknowledgement(details)
    assert "works for 45 days" in email.body
    assert "works for 45 days" in html_of(email)


def test_acknowledgement_tracking_link_opens_the_case_page(client, details):
    complaint, email = send_acknowledgement(details)
    text_path = TRACKING_PATH.search(email.body).group(1)
    html_paths = set(TRACKING_PATH.findall(html_of(email)))
    assert html_paths == {text_path}

    response = client.get(text_path)

    assert response.status_code == 200
    page = response.content.decode()
    assert complaint.reference in page
    assert "Acknowledged" in page


def test_acknowledgement_escapes_what_the_client_typed_in_html_only(details):
    hostile = case_services.ComplaintDetails(
        name='Eve <script>alert("x")</script> & Co',
        email=details.email,
        description=details.description,
    )
    _, email = send_acknowledgement(hostile)
    html = html_of(email)
    assert "<script>" not in html
    assert "Eve &lt;script&gt;" in html
    assert "&amp; Co" in html
    # Plain text is not HTML: the name reads as typed, not as entities.
    assert 'Dear Eve <script>alert("x")</script> & Co,' in email.body
    assert "&amp;" not in email.body


def test_the_subject_is_one_line_whatever_the_data():
    complaint = ComplaintFactory(name="Line\r\nBcc: victim@example.com")
    message = services.message_queue(
        kind="complaint_acknowledgement",
        dedupe_key="one-line",
        to_email=complaint.email,
        complaint=complaint,
    )
    services.message_deliver(message.pk)
    assert "\n" not in mail.outbox[0].subject
    assert "\r" not in mail.outbox[0].subject


def test_client_link_email_carries_the_reference_and_a_working_link(client):
    complaint = ComplaintFactory()
    message = services.message_queue(
        kind="client_link",
        dedupe_key="fresh",
        to_email=complaint.email,
        complaint=complaint,
    )
    services.message_deliver(message.pk)
    email = mail.outbox[0]
    assert complaint.reference in email.subject
    assert complaint.reference in email.body
    assert complaint.reference in html_of(email)
    path = TRACKING_PATH.search(email.body).group(1)
    assert client.get(path).status_code == 200
    # Asking for a link does not change the case.
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RECEIVED


@time_machine.travel(CHRISTMAS_EVE, tick=False)
def test_sending_the_acknowledgement_reads_the_case_once_per_step_and_writes_only_what_changed(details):
    """The worker's share of every complaint filed (issue 21): claim, read, send, record, in eight statements."""
    complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint, kind="complaint_acknowledgement")
    with CaptureQueriesContext(connection) as statements:
        assert services.message_deliver(message.pk) == "sent"
    # (The test's own transaction turns each of the worker's transactions into savepoints: not counted.)
    sql = [query["sql"] for query in statements.captured_queries if "SAVEPOINT" not in query["sql"]]
    case_reads = [text for text in sql if text.startswith("SELECT") and 'FROM "cases_complaint"' in text]
    # The case is read with the outbox row twice (to write the email; to record it), and once alone, locked.
    assert len(case_reads) == 1
    assert len([text for text in sql if '"cases_complaint"' in text and "JOIN" in text]) == 2
    sent_update = next(
        text for text in sql if text.startswith('UPDATE "notifications_outboundmessage"') and "body_text" in text
    )
    assert '"context"' not in sent_update
    assert '"to_email"' not in sent_update
    assert len(sql) == 8, sql  # 10 before: the case read twice more (and the outbox row was rewritten whole)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.outcome_due == date(2027, 1, 12)
