"""The whole journey of a complaint, in a real browser, against the product running as in production.

The site runs as docker-compose.yml runs it (tests/stack.py): gunicorn with ``DJANGO_ENV=production``,
a Celery worker and one beat on a private Redis, the test's PostgreSQL database, and emails delivered
over SMTP to a test mail server that this test reads. Nothing is delivered or sent by the test itself.

A client files a complaint with a document, reads the acknowledgement email and follows its link; a
manager signs in (password, then the code from an authenticator app, as production requires) and asks
for information; the client answers on their page; the manager issues an
upheld outcome with an action; the client opens the PDF letter (attached to the email and on their
page) and appeals; the Director decides in the admin; the client reads the final decision.

Once at desktop width and once at phone width (every actor on a phone-sized screen). axe-core runs on
every page the journey shows. Screenshots of each step go to $SCREENSHOT_DIR (default
var/screenshots), named journey-<width>-NN-<step>.png.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals.models import Appeal
from cases.business_days import london_today
from cases.models import Complaint
from notifications.models import OutboundMessage
from tests.cases.test_uploads import PDF
from tests.factories import director, manager
from tests.services import chromium_path, missing
from tests.stack import attachments_of, text_of, usable_in_production, wait_until
from tests.test_accessibility import Audit

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.stack]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery staple"
CLIENT_EMAIL = "ada@example.com"
MAIL_WAIT = 30
SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


@pytest.fixture
def screenshots() -> Path:
    out = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    if not chromium_path():
        missing("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django checks for that on database access.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield chromium
        chromium.close()


def tracking_link(message) -> str:
    match = re.search(r"https?://\S+/track/[^\s/]+/", text_of(message))
    assert match, f"no tracking link in: {message['Subject']}"
    return match.group(0)


def code_from_app(device: TOTPDevice) -> str:
    """What the staff member's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def main_text(page) -> str:
    return " ".join(page.locator("main").inner_text().split())


def pdf_text(data: bytes, folder: Path, name: str) -> str:
    path = folder / name
    path.write_bytes(data)
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        missing("needs pdftotext (Debian's poppler-utils) to read the PDF letters")
    return " ".join(result.stdout.split())


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_complaint_from_filing_to_the_directors_final_decision(stack, browser, screenshots, tmp_path, screen):
    worker = manager(username="sam", first_name="Sam", last_name="Okafor")
    boss = director(username="dee", first_name="Dee", last_name="Mensah")
    devices = {}
    for user in (worker, boss):
        usable_in_production(user, PASSWORD)
        devices[user.pk] = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    stack.extra_env["STAFF_REQUIRE_2FA"] = "true"  # as in production: staff give a code after the password
    stack.prepare().start()
    url, mail = stack.url, stack.mail

    evidence = tmp_path / "engineer-report.pdf"
    evidence.write_bytes(PDF)
    shot = iter(range(1, 100))
    audits: list[Audit] = []

    def new_page():
        context = browser.new_context(
            **SCREENS[screen], locale="en-GB", timezone_id="Europe/London", accept_downloads=True
        )
        page = context.new_page()
        audits.append(Audit(page))
        return page

    def snap(page, name: str) -> None:
        page.screenshot(path=screenshots / f"journey-{screen}-{next(shot):02d}-{name}.png", full_page=True)
        next(a for a in audits if a.page is page).check(name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SCREENS[screen]["viewport"]["width"], f"{name}: {width} px wide, wider than the {screen}"

    def email_to_client(subject: str):
        """The one email to the client whose subject starts so, once the worker has sent it."""
        found = wait_until(
            lambda: [m for m in mail.to(CLIENT_EMAIL) if str(m["Subject"]).startswith(subject)],
            timeout=MAIL_WAIT,
            what=f"the email {subject!r}",
            logs=stack.logs(),
        )
        assert len(found) == 1, [str(m["Subject"]) for m in found]
        return found[0]

    def sign_in(page, user) -> None:
        """Password, then the code from the authenticator app, as production requires."""
        page.goto(url + "/staff/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
        assert "Enter your sign-in code" in main_text(page)
        page.fill("#id_token", code_from_app(devices[user.pk]))
        with page.expect_navigation():
            page.get_by_role("button", name="Continue", exact=True).click()
        assert "/login/" not in page.url, main_text(page)
        assert "/two-factor/" not in page.url, main_text(page)

    client, staff = new_page(), new_page()

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

    # 2. The worker emails the acknowledgement over SMTP; the client follows its link.
    acknowledgement = email_to_client(f"Your complaint {complaint.reference} has been received")
    assert acknowledgement.get_body(preferencelist=("html",)) is not None
    client.goto(tracking_link(acknowledgement))
    assert complaint.reference in main_text(client)
    assert "Acknowledged" in main_text(client)
    snap(client, "client-case-acknowledged")

    # 3. A manager signs in, starts the investigation and asks the client a question.
    sign_in(staff, worker)
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
    question = email_to_client(f"Complaint {complaint.reference}: we need more information")
    assert "Which of your sites was the engineer booked for?" in text_of(question)
    client.goto(tracking_link(question))
    assert "Which of your sites was the engineer booked for?" in main_text(client)
    client.fill("#id_text", "Our Amersham office, 12 High Street.")
    snap(client, "client-answer")
    with client.expect_navigation():
        client.get_by_role("button", name="Send your answer").click()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    snap(client, "client-answer-sent")

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

    # 6. The outcome email carries the PDF letter; the client downloads it from their page too, and appeals.
    outcome = email_to_client(f"Our response to your complaint {complaint.reference}")
    ((name, data),) = attachments_of(outcome)
    assert name.endswith(".pdf")
    assert data.startswith(b"%PDF")
    letter = pdf_text(data, tmp_path, "outcome.pdf")
    assert complaint.reference in letter
    assert "upheld" in letter.lower()
    assert "Refund the call-out fee." in letter
    client.goto(tracking_link(outcome))
    assert "upheld" in main_text(client).lower()
    snap(client, "client-outcome")
    with client.expect_download() as download:
        client.locator("#letters-heading + ul a").first.click()
    assert Path(download.value.path()).read_bytes() == data
    client.get_by_role("link", name="Appeal to our Director").click()
    client.wait_for_selector("#id_reasons")
    client.fill("#id_reasons", "Nobody told me about the change of plan, and I lost a day's trading waiting in.")
    snap(client, "client-appeal")
    with client.expect_navigation():
        client.get_by_role("button", name="Send my appeal to the Director").click()
    appeal = Appeal.objects.get(complaint=complaint)
    snap(client, "client-appeal-sent")
    assert "Director" in text_of(email_to_client(f"Your appeal on complaint {complaint.reference} has been received"))

    # 7. The Director decides in the admin.
    director_page = new_page()
    sign_in(director_page, boss)
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

    # 8. The client reads the final decision in the email, its letter and on their page.
    decision = email_to_client(f"The Director's final decision on your appeal {complaint.reference}")
    ((name, data),) = attachments_of(decision)
    assert "The engineer arrived within the booked window" in pdf_text(data, tmp_path, "decision.pdf")
    client.goto(tracking_link(decision))
    assert "original decision upheld. The decision is final." in main_text(client)
    snap(client, "client-final-decision")
    letters = client.locator("#letters-heading + ul a")
    assert letters.count() == 2
    assert letters.last.inner_text().startswith("Final decision on the appeal")
    with client.expect_download() as download:
        letters.last.click()
    assert Path(download.value.path()).read_bytes() == data
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.CLOSED

    # Every email the case caused went out exactly once, and the client got nothing twice.
    client_mail = mail.to(CLIENT_EMAIL)
    assert len(client_mail) == 5
    assert len({m["Message-ID"] for m in client_mail}) == 5
    assert not OutboundMessage.objects.exclude(state=OutboundMessage.State.SENT).filter(complaint=complaint).exists()
    for audit in audits:
        audit.assert_clean()
    # Playwright's greenlet has its own database connection: close it, or the test database cannot be dropped.
    connections.close_all()
