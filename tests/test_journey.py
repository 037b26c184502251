"""The whole journey of a complaint in a real browser (Chromium via Playwright), against the live server.

A client files a complaint with a document and follows the link in the acknowledgement email; a
manager signs in and asks for information; the client answers on their page; the manager issues an
upheld outcome with an action; the client downloads the PDF letter and appeals; the Director decides
in the admin; the client reads the final decision and its letter.

No real worker runs here: the Celery tasks queued on commit go to the in-memory broker and are never
taken. Instead the test delivers each pending outbox message in-process with
``notifications.services.message_deliver`` (what the worker's task calls) and reads the emails from
``django.core.mail.outbox``. Screenshots of each step go to $SCREENSHOT_DIR (default var/screenshots).
Desktop width only.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail

from appeals.models import Appeal
from cases.business_days import london_today
from cases.models import Complaint
from notifications import services as outbox
from notifications.models import OutboundMessage
from tests.cases.test_uploads import PDF
from tests.factories import director, manager
from tests.services import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct horse battery staple"
CLIENT_EMAIL = "ada@example.com"


@pytest.fixture
def screenshots() -> Path:
    out = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django checks for that on database access.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield chromium
        chromium.close()


def deliver_all() -> list[str]:
    """Send every pending outbox message as the worker would; returns their kinds."""
    kinds = []
    for message in OutboundMessage.objects.filter(state=OutboundMessage.State.PENDING).order_by("pk"):
        assert outbox.message_deliver(message.pk) == "sent"
        kinds.append(message.kind)
    return kinds


def link_in(message, live_url: str) -> str:
    """The client's secure link in an email, pointed at the live server instead of SITE_URL."""
    match = re.search(r"https?://\S+/track/[^\s/]+/", message.body)
    assert match, f"no tracking link in: {message.subject}"
    return live_url + urlsplit(match.group(0)).path


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def sign_in(page, live_url: str, user) -> None:
    page.goto(live_url + "/staff/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    assert "/login/" not in page.url


def main_text(page) -> str:
    return " ".join(page.locator("main").inner_text().split())


def test_a_complaint_from_filing_to_the_directors_final_decision(live_server, browser, screenshots, tmp_path):
    url = live_server.url
    worker = manager(username="sam", first_name="Sam", last_name="Okafor")
    boss = director(username="dee", first_name="Dee", last_name="Mensah")
    evidence = tmp_path / "engineer-report.pdf"
    evidence.write_bytes(PDF)
    shot = iter(range(1, 100))

    def snap(page, name: str) -> None:
        page.screenshot(path=screenshots / f"journey-{next(shot):02d}-{name}.png", full_page=True)

    client = browser.new_context(
        viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London", accept_downloads=True
    ).new_page()
    staff = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London").new_page()

    # 1. The client files a complaint with a document.
    client.goto(url + "/")
    client.fill("#id_name", "Ada Lovelace")
    client.fill("#id_email", CLIENT_EMAIL)
    client.fill("#id_incident_date", (london_today() - timedelta(days=2)).isoformat())
    client.fill("#id_description", "Your engineer was booked for 9am and arrived at 3.40pm without the part.")
    client.set_input_files("#id_documents", str(evidence))
    client.check("#id_privacy_ack")
    snap(client, "client-form-filled")
    with client.expect_navigation():
        client.get_by_role("button", name="Send my complaint").click()
    complaint = Complaint.objects.get()
    assert client.locator(".reference-number").inner_text() == complaint.reference
    snap(client, "client-confirmation")
    assert [a.original_name for a in complaint.attachments.all()] == ["engineer-report.pdf"]

    # 2. The acknowledgement email arrives (sending it acknowledges the case); the client follows its link.
    assert "complaint_acknowledgement" in deliver_all()
    (acknowledgement,) = mails_to(CLIENT_EMAIL)
    assert complaint.reference in acknowledgement.subject + acknowledgement.body
    client.goto(link_in(acknowledgement, url))
    assert complaint.reference in main_text(client)
    assert "Acknowledged" in main_text(client)
    snap(client, "client-case-acknowledged")

    # 3. A manager signs in, starts the investigation and asks the client a question.
    sign_in(staff, url, worker)
    staff.goto(f"{url}/staff/complaints/{complaint.reference}/")
    snap(staff, "manager-case")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Start investigation").click()
    staff.fill("#id_request-message", "Which of your sites was the engineer booked for?")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Send to the client").click()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.AWAITING_CLIENT
    assert complaint.assignee == worker
    snap(staff, "manager-question-sent")

    # 4. The client gets the question by email and answers on their page.
    assert "information_request" in deliver_all()
    question = mails_to(CLIENT_EMAIL)[-1]
    client.goto(link_in(question, url))
    assert "Which of your sites was the engineer booked for?" in main_text(client)
    client.fill("#id_text", "Our Amersham office, 12 High Street.")
    snap(client, "client-answer")
    with client.expect_navigation():
        client.get_by_role("button", name="Send your answer").click()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    snap(client, "client-answer-sent")
    deliver_all()

    # 5. The manager issues an upheld outcome with an action.
    staff.goto(f"{url}/staff/complaints/{complaint.reference}/outcome/")
    staff.check("#id_outcome_0")
    staff.fill("#id_findings", "The engineer was sent to an emergency call first and nobody told you.")
    staff.select_option("#id_actions-0-kind", "put_right")
    staff.fill("#id_actions-0-description", "Refund the call-out fee.")
    staff.select_option("#id_actions-0-owner", str(worker.pk))
    staff.fill("#id_actions-0-due_date", (london_today() + timedelta(days=14)).isoformat())
    with staff.expect_navigation():
        staff.get_by_role("button", name="Preview letter", exact=True).last.click()
    assert "Your complaint is upheld." in " ".join(staff.locator("#letter-preview").inner_text().split())
    snap(staff, "manager-outcome-preview")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Issue outcome").click()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RESPONDED
    assert complaint.actions.count() == 1
    snap(staff, "manager-outcome-issued")

    # 6. The client downloads the PDF letter and appeals.
    assert "outcome_letter" in deliver_all()
    client.goto(link_in(mails_to(CLIENT_EMAIL)[-1], url))
    assert "upheld" in main_text(client).lower()
    snap(client, "client-outcome")
    with client.expect_download() as download:
        client.locator("#letters-heading + ul a").first.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    client.get_by_role("link", name="Appeal to our Director").click()
    client.wait_for_selector("#id_reasons")
    client.fill("#id_reasons", "Nobody told me about the change of plan, and I lost a day's trading waiting in.")
    snap(client, "client-appeal")
    with client.expect_navigation():
        client.get_by_role("button", name="Send my appeal to the Director").click()
    appeal = Appeal.objects.get(complaint=complaint)
    snap(client, "client-appeal-sent")
    assert "appeal_acknowledgement" in deliver_all()

    # 7. The Director decides in the admin.
    director_page = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London").new_page()
    sign_in(director_page, url, boss)
    director_page.goto(f"{url}/admin/appeals/appeal/{appeal.pk}/change/")
    snap(director_page, "director-appeal")
    director_page.check("input[name=decision][value=original_decision_upheld]")
    director_page.fill("#id_reasons", "The engineer arrived within the booked window; the refund already made is fair.")
    director_page.check("#id_confirm")
    with director_page.expect_navigation():
        director_page.get_by_role("button", name="Issue the final decision").click()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.DECIDED
    snap(director_page, "director-decided")

    # 8. The client reads the final decision and its letter.
    assert "appeal_decision_letter" in deliver_all()
    client.goto(link_in(mails_to(CLIENT_EMAIL)[-1], url))
    assert "original decision upheld. The decision is final." in main_text(client)
    snap(client, "client-final-decision")
    letters = client.locator("#letters-heading + ul a")
    assert letters.count() == 2
    assert letters.last.inner_text().startswith("Final decision on the appeal")
    with client.expect_download() as download:
        letters.last.click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.CLOSED
