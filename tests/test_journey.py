"""The whole journey of a complaint, in a real browser, against the product running as in production.

The site runs as docker-compose.yml runs it (tests/stack.py): gunicorn with ``DJANGO_ENV=production``,
a Celery worker and one beat on a private Redis, the test's PostgreSQL database, and emails delivered
over SMTP to a test mail server that this test reads. Nothing is delivered or sent by the test itself.

Two journeys. On the web: a client files a complaint with a document, reads the acknowledgement
email and follows its link; a manager signs in (password, then the code from an authenticator app,
as production requires) and asks for information; the client answers on their page; the manager
issues an upheld outcome with an action; the client opens the PDF letter (attached to the email and on their
page) and appeals; the Director decides in the admin; the client reads the final decision. By email:
the same procedure through the complaints@ and appeals@ mailboxes (a real Dovecot read by the
mailreader service), with a complaints lead's queue of emails waiting for a person.

Once at desktop width and once at phone width (every actor on a phone-sized screen). axe-core runs on
every page the journey shows. Screenshots of each step go to $SCREENSHOT_DIR (default
var/screenshots), named journey-<width>-NN-<step>.png.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from django.db import connections
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals.models import Appeal
from cases.business_days import london_today
from cases.models import Complaint
from inbound.models import InboundEmail
from notifications.models import OutboundMessage
from tests.cases.test_uploads import PDF
from tests.factories import business_days_from_today, director, lead, manager
from tests.inbound import mail
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


class Journey:
    """One journey's browser pages, screenshots, staff sign-ins and the emails the stack sent."""

    def __init__(self, stack, browser, screenshots: Path, screen: str, staff: list) -> None:
        self.stack, self.browser, self.screenshots, self.screen = stack, browser, screenshots, screen
        self.url, self.mail = stack.url, stack.mail
        self.shot = iter(range(1, 100))
        self.audits: list[Audit] = []
        self.devices = {}
        for user in staff:
            usable_in_production(user, PASSWORD)
            self.devices[user.pk] = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        stack.extra_env["STAFF_REQUIRE_2FA"] = "true"  # as in production: staff give a code after the password

    def new_page(self):
        context = self.browser.new_context(
            **SCREENS[self.screen], locale="en-GB", timezone_id="Europe/London", accept_downloads=True
        )
        page = context.new_page()
        self.audits.append(Audit(page))
        return page

    def snap(self, page, name: str, prefix: str = "journey") -> None:
        """A full-page screenshot, the page's accessibility audit, and no sideways scrolling."""
        path = self.screenshots / f"{prefix}-{self.screen}-{next(self.shot):02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        next(a for a in self.audits if a.page is page).check(name)
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = SCREENS[self.screen]["viewport"]["width"]
        assert width <= viewport, f"{name}: {width} px wide, wider than the {self.screen}"

    def email_to(self, address: str, subject: str):
        """The one email to ``address`` whose subject starts so, once the worker has sent it."""
        found = wait_until(
            lambda: [m for m in self.mail.to(address) if str(m["Subject"]).startswith(subject)],
            timeout=MAIL_WAIT,
            what=f"the email {subject!r}",
            logs=self.stack.logs(),
        )
        assert len(found) == 1, [str(m["Subject"]) for m in found]
        return found[0]

    def sign_in(self, page, user) -> None:
        """Password, then the code from the authenticator app, as production requires."""
        page.goto(self.url + "/staff/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
        assert "Enter your sign-in code" in main_text(page)
        page.fill("#id_token", code_from_app(self.devices[user.pk]))
        with page.expect_navigation():
            page.get_by_role("button", name="Continue", exact=True).click()
        assert "/login/" not in page.url, main_text(page)
        assert "/two-factor/" not in page.url, main_text(page)

    def director_decides(self, page, appeal, reasons: str) -> None:
        """The Director, signed in on ``page``, issues the final decision in the admin (original decision upheld)."""
        page.goto(f"{self.url}/admin/appeals/appeal/{appeal.pk}/change/")
        self.snap(page, "director-appeal")
        page.check("input[name=decision][value=original_decision_upheld]")
        page.fill("#id_reasons", reasons)
        page.check("#id_confirm")
        with page.expect_navigation():
            page.get_by_role("button", name="Issue the final decision").click()
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.DECIDED
        self.snap(page, "director-decided")

    def assert_accessible(self) -> None:
        for audit in self.audits:
            audit.assert_clean()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_complaint_from_filing_to_the_directors_final_decision(stack, browser, screenshots, tmp_path, screen):
    worker = manager(username="sam", first_name="Sam", last_name="Okafor")
    boss = director(username="dee", first_name="Dee", last_name="Mensah")
    journey = Journey(stack, browser, screenshots, screen, [worker, boss])
    stack.prepare().start()
    url, mail = stack.url, stack.mail
    new_page, snap, sign_in = journey.new_page, journey.snap, journey.sign_in

    def email_to_client(subject: str):
        return journey.email_to(CLIENT_EMAIL, subject)

    evidence = tmp_path / "engineer-report.pdf"
    evidence.write_bytes(PDF)

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
    staff.fill("#id_actions-0-due_date", (business_days_from_today(14)).isoformat())
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
    journey.director_decides(
        director_page, appeal, "The engineer arrived within the booked window; the refund already made is fair."
    )

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

    # Closed for good: one satisfaction survey (satisfaction.services), with its own single-use link.
    survey = email_to_client(f"Three questions about how we handled your complaint {complaint.reference}")
    assert "/feedback/" in survey.get_body(("plain",)).get_content()

    # Every email the case caused went out exactly once, and the client got nothing twice.
    client_mail = mail.to(CLIENT_EMAIL)
    assert len(client_mail) == 6
    assert len({m["Message-ID"] for m in client_mail}) == 6
    assert not OutboundMessage.objects.exclude(state=OutboundMessage.State.SENT).filter(complaint=complaint).exists()
    journey.assert_accessible()
    # Playwright's greenlet has its own database connection: close it, or the test database cannot be dropped.
    connections.close_all()


@pytest.mark.imap
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_complaint_and_its_appeal_by_email_from_the_first_message_to_the_final_decision(
    stack, imap_server, browser, screenshots, tmp_path, screen
):
    """The same procedure heard where the published one sends clients: the complaints@ and appeals@ mailboxes.

    A client emails complaints@ with a document and is acknowledged; a complaints lead finds a spam
    message waiting among the emails and marks it not a complaint; a manager picks the case up and asks
    a question; the client answers by replying to that email (the clock resumes) and writes once more;
    the outcome goes out; the client appeals by email to appeals@; the Director decides in the admin.
    The mailboxes are a real Dovecot, read by compose's mailreader service.
    """
    worker = manager(username="sam", first_name="Sam", last_name="Okafor")
    boss = director(username="dee", first_name="Dee", last_name="Mensah")
    head = lead(username="lee", first_name="Lee", last_name="Grant")
    journey = Journey(stack, browser, screenshots, screen, [worker, boss, head])
    stack.extra_env["INBOUND_COMPLAINTS_URL"] = imap_server.url("complaints")
    stack.extra_env["INBOUND_APPEALS_URL"] = imap_server.url("appeals")
    stack.prepare().start("web", "worker", "beat", "mailreader")
    url, snap = stack.url, partial(journey.snap, prefix="email-journey")
    sender = f"Ada Lovelace <{CLIENT_EMAIL}>"

    def case_page(page, complaint) -> str:
        page.goto(f"{url}/staff/complaints/{complaint.reference}/")
        return main_text(page)

    def reply(message, body: str, *, to: str = mail.COMPLAINTS, number: int) -> bytes:
        """The client's mail program answering one of our emails: Re: its subject, naming it, quoting it."""
        quoted = "\n".join(f"> {line}" for line in text_of(message).splitlines()[:5])
        return mail.plain(
            sender=sender,
            to=to,
            subject=f"Re: {message['Subject']}",
            body=f"{body}\n\nOn {message['Date']}, JPD IT Services wrote:\n{quoted}\n",
            message_id=f"<email-journey-{screen}-{number}@example.com>",
            in_reply_to=message["Message-ID"],
            references=message["Message-ID"],
        )

    # 1. The client emails complaints@ with a document; a spam message arrives too.
    imap_server.append(
        "complaints",
        mail.plain(
            sender=sender,
            subject="Engineer six hours late, without the part",
            body="Your engineer was booked for 9am and arrived at 3.40pm without the part.",
            message_id=f"<email-journey-{screen}-1@example.com>",
            attachments=[("engineer-report.pdf", PDF, "application/pdf")],
        ),
        mail.plain(
            sender="Deals <deals@example.net>",
            subject="Cheap printer ink",
            body="Buy now.",
            message_id=f"<email-journey-{screen}-spam@example.net>",
            headers={"X-Spam-Flag": "YES"},
        ),
    )
    acknowledgement = journey.email_to(CLIENT_EMAIL, "Your complaint ")
    complaint = Complaint.objects.get()
    assert complaint.reference in str(acknowledgement["Subject"])
    assert (complaint.channel, complaint.name) == ("email", "Ada Lovelace")
    assert [a.original_name for a in complaint.attachments.all()] == ["engineer-report.pdf"]
    client = journey.new_page()
    client.goto(tracking_link(acknowledgement))
    assert "Acknowledged" in main_text(client)
    snap(client, "client-case-from-email")

    # 2. A complaints lead finds the spam message waiting and marks it not a complaint.
    lead_page = journey.new_page()
    journey.sign_in(lead_page, head)
    lead_page.goto(url + "/staff/")
    lead_page.get_by_role("link", name=re.compile("^Email in")).click()
    lead_page.wait_for_url(re.compile("/staff/email-in/"))
    assert "Cheap printer ink" in main_text(lead_page)
    snap(lead_page, "lead-email-in")
    lead_page.get_by_role("link", name=re.compile("Cheap printer ink")).click()
    lead_page.wait_for_selector("text=Flagged as spam by the mail server.")
    lead_page.locator("summary", has_text="Not a complaint").click()
    lead_page.fill("#id_reject-reason", "Advertising.")
    snap(lead_page, "lead-email-not-a-complaint")
    with lead_page.expect_navigation():
        lead_page.get_by_role("button", name="Mark not a complaint").click()
    spam = InboundEmail.objects.get(from_address="deals@example.net")
    assert (spam.state, spam.outcome) == (InboundEmail.State.HANDLED, InboundEmail.Outcome.NOT_A_COMPLAINT)

    # 3. A manager picks the case up, starts the investigation and asks a question.
    staff = journey.new_page()
    journey.sign_in(staff, worker)
    case_page(staff, complaint)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Pick up this case").click()
    with staff.expect_navigation():
        staff.get_by_role("button", name="Start investigation").click()
    staff.fill("#id_request-message", "Which of your sites was the engineer booked for?")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Send to the client").click()
    question = journey.email_to(CLIENT_EMAIL, f"Complaint {complaint.reference}: we need more information")

    # 4. The client answers by replying to the question; the investigation resumes. Then writes once more.
    imap_server.append("complaints", reply(question, "Our Amersham office, 12 High Street.", number=2))
    wait_until(
        lambda: Complaint.objects.get(pk=complaint.pk).status == Complaint.Status.INVESTIGATING,
        timeout=MAIL_WAIT,
        what="the answer by email",
        logs=stack.logs(),
    )
    imap_server.append(
        "complaints", reply(acknowledgement, "One more thing: the engineer left our cabinet unlocked.", number=3)
    )
    wait_until(
        lambda: complaint.client_messages.exists(), timeout=MAIL_WAIT, what="the message by email", logs=stack.logs()
    )
    page = case_page(staff, complaint)
    assert "Our Amersham office, 12 High Street." in page
    assert "JPD IT Services wrote" not in page  # the quoted email left out
    assert "One more thing: the engineer left our cabinet unlocked." in page
    snap(staff, "manager-case-answered-by-email")

    # 5. The outcome goes out, not upheld, with the reasons.
    staff.goto(f"{url}/staff/complaints/{complaint.reference}/outcome/")
    staff.check("input[name=outcome][value=not_upheld]")
    staff.fill("#id_findings", "The engineer was booked for the afternoon, as the booking email shows.")
    staff.fill("#id_reasons", "The visit happened within the booked window.")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Preview letter", exact=True).last.click()
    with staff.expect_navigation():
        staff.get_by_role("button", name="Issue outcome").click()
    outcome = journey.email_to(CLIENT_EMAIL, f"Our response to your complaint {complaint.reference}")
    ((_name, data),) = attachments_of(outcome)
    assert "not upheld" in pdf_text(data, tmp_path, "outcome.pdf").lower()

    # 6. The client appeals by email to appeals@, replying to the outcome.
    imap_server.append(
        "appeals",
        reply(outcome, "The booking email said 9am. I lost a day's trading.", to=mail.APPEALS, number=4),
    )
    appeal_acknowledgement = journey.email_to(
        CLIENT_EMAIL, f"Your appeal on complaint {complaint.reference} has been received"
    )
    appeal = Appeal.objects.get(complaint=complaint)
    assert "The booking email said 9am." in appeal.reasons
    assert "Director" in text_of(appeal_acknowledgement)

    # 7. The Director decides in the admin; the client reads the final decision on their page.
    director_page = journey.new_page()
    journey.sign_in(director_page, boss)
    journey.director_decides(director_page, appeal, "The booking email named the afternoon; the outcome stands.")
    decision = journey.email_to(CLIENT_EMAIL, f"The Director's final decision on your appeal {complaint.reference}")
    client.goto(tracking_link(decision))
    assert "The decision is final." in main_text(client)
    snap(client, "client-final-decision")

    # Each message became one thing, once; every message left the inbox; nothing went to the client twice.
    assert sorted(InboundEmail.objects.values_list("outcome", flat=True)) == sorted(
        ["new_complaint", "not_a_complaint", "client_answer", "client_message", "appeal"]
    )
    assert (imap_server.count("complaints", "Processed"), imap_server.count("appeals", "Processed")) == (4, 1)
    assert (imap_server.count("complaints"), imap_server.count("appeals")) == (0, 0)
    journey.email_to(CLIENT_EMAIL, f"Three questions about how we handled your complaint {complaint.reference}")
    client_mail = journey.mail.to(CLIENT_EMAIL)
    assert len(client_mail) == 6  # acknowledgement, question, outcome, appeal acknowledgement, decision, survey
    assert len({m["Message-ID"] for m in client_mail}) == 6
    journey.assert_accessible()
    connections.close_all()
