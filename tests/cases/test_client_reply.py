"""The client answers our question on their secure page (/track/<token>/reply/): the investigation resumes."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases import business_days, links, services, uploads
from cases.models import Attachment, ClientMessage, Complaint, ComplaintEvent, InformationRequest
from notifications.models import OutboundMessage
from tests.cases.test_uploads import EXE, PDF
from tests.factories import AcknowledgedComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
Status = Complaint.Status


def waiting(worker=None, question="Which site was affected?", **kwargs) -> Complaint:
    """A case under investigation, with a question to the client open."""
    worker = worker or manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker, **kwargs)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    services.complaint_request_information(actor=worker, complaint=complaint, message=question)
    complaint.refresh_from_db()
    return complaint


def page_url(complaint) -> str:
    return reverse("client:case", args=[links.client_token(complaint)])


def reply_url(complaint) -> str:
    return reverse("client:reply", args=[links.client_token(complaint)])


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def pdf(name="invoice.pdf", content=PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def assert_private(response) -> None:
    assert response["Cache-Control"] == "no-store, private"
    assert response["X-Robots-Tag"] == "noindex"


@pytest.fixture(autouse=True)
def _no_staging_left_over():
    uploads.purge_stale_staging(max_age=timedelta(0))
    yield
    uploads.purge_stale_staging(max_age=timedelta(0))


# --- The question on the page ------------------------------------------------------------------


def test_the_page_shows_our_question_and_the_form_while_we_wait(client):
    complaint = waiting(question="Which <b>site</b> was affected?")
    token = links.client_token(complaint)  # a token carries its time: make it once
    response = client.get(reverse("client:case", args=[token]))
    page = text_of(response)
    assert response.status_code == 200
    assert "We need more information from you" in page
    assert "Which <b>site</b> was affected?" in page  # shown as written, escaped in the HTML
    assert "<b>site</b>" not in response.content.decode()
    assert "Our investigation is paused until we have your answer" in page
    content = response.content.decode()
    assert f'action="{reverse("client:reply", args=[token])}#answer"' in content
    assert 'enctype="multipart/form-data"' in content
    assert 'name="documents"' in content


def test_a_page_with_the_answer_form_stays_private_and_can_post(client):
    complaint = waiting()
    response = client.get(page_url(complaint))
    assert_private(response)
    # A form cannot post under "no-referrer" (Origin: null fails the CSRF check); same-origin keeps the token here.
    assert response["Referrer-Policy"] == "same-origin"
    assert b'<meta name="referrer" content="same-origin">' in response.content


def test_no_answer_form_when_we_are_not_waiting_only_the_message_form(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    response = client.get(page_url(complaint))
    assert "We need more information from you" not in text_of(response)
    assert b"/reply/" not in response.content
    assert "Send us a message or documents" in text_of(response)
    assert response["Referrer-Policy"] == "same-origin"


# --- Answering ---------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), tick=False)  # asked and answered on a Monday
def test_an_answer_resumes_the_investigation_and_is_confirmed(client):
    worker = manager()
    complaint = waiting(worker)
    response = client.post(reply_url(complaint), {"text": "The Wycombe office, from 9:15."})

    assert response.status_code == 303
    assert response["Location"] == page_url(complaint) + "#main"
    assert_private(response)
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.clock_stopped_at is None
    request = InformationRequest.objects.get(complaint=complaint)
    assert request.answer == "The Wycombe office, from 9:15."
    assert request.answered_at is not None
    assert complaint.events.filter(kind=ComplaintEvent.Kind.CLIENT_REPLIED, client_visible=True).exists()
    # The manager on the case is told, with a link to the case and not the client's words.
    staff_mail = OutboundMessage.objects.get(kind="staff_client_reply")
    assert staff_mail.to_email == worker.email

    page = client.get(response["Location"])
    text = text_of(page)
    assert "Thank you: we have your answer" in text
    due = complaint.outcome_due
    assert f"Our written outcome is still due by {due:%A} {due.day} {due:%B %Y}." in text  # answered the same day
    assert "We need more information from you" not in text
    assert "Being investigated" in text


def test_the_answer_moves_the_outcome_date_by_the_days_we_waited(client):
    with time_machine.travel(dt.datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), tick=False):  # Monday
        complaint = waiting()
        due_before = complaint.outcome_due
    with time_machine.travel(dt.datetime(2027, 1, 14, 11, 0, tzinfo=LONDON), tick=False):  # Thursday
        token = links.client_token(complaint)
        response = client.post(reverse("client:reply", args=[token]), {"text": "Wycombe."})
        assert response.status_code == 303
        page = text_of(client.get(reverse("client:case", args=[token])))
    complaint.refresh_from_db()
    assert complaint.outcome_due == business_days.add_business_days(due_before, 3)
    due = complaint.outcome_due
    assert f"As we waited 3 business days, our written outcome is now due by {due:%A} {due.day} {due:%B %Y}." in page


def test_the_staff_email_links_to_the_case_and_never_quotes_the_answer(client, mailoutbox, settings):
    from notifications.services import message_deliver

    worker = manager(first_name="Max", last_name="Manager")
    complaint = waiting(worker)
    client.post(reply_url(complaint), {"text": "My private answer about the Marlow site."})
    message = OutboundMessage.objects.get(kind="staff_client_reply")
    assert message_deliver(message.pk) == "sent"
    [mail] = mailoutbox
    assert mail.to == [worker.email]
    assert mail.subject == f"Complaint {complaint.reference}: the client has answered your question"
    html_body = mail.alternatives[0][0]
    for body in (mail.body, html_body):
        assert complaint.reference in body
        assert settings.SITE_URL + reverse("staff:case", args=[complaint.reference]) in body
        assert "Max Manager" in body
        assert "Marlow" not in body
        assert complaint.name not in body


def test_the_staff_case_page_shows_the_answer(client):
    worker = manager()
    complaint = waiting(worker)
    client.post(reply_url(complaint), {"text": "It was the <i>Marlow</i> site."})
    client.force_login(worker)
    response = client.get(reverse("staff:case", args=[complaint.reference]))
    page = text_of(response)
    assert "The client answered" in page
    assert "It was the <i>Marlow</i> site." in page
    assert "<i>Marlow</i>" not in response.content.decode()


def test_documents_alone_are_an_answer_and_are_kept_privately(client):
    complaint = waiting()
    response = client.post(reply_url(complaint), {"text": "", "documents": [pdf()]})
    assert response.status_code == 303
    (attachment,) = Attachment.objects.filter(complaint=complaint)
    assert attachment.original_name == "invoice.pdf"
    assert attachment.source == Attachment.Source.CLIENT
    assert attachment.content_type == "application/pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert "invoice.pdf" in text_of(client.get(page_url(complaint)))


def test_an_empty_answer_is_refused_and_changes_nothing(client):
    complaint = waiting()
    response = client.post(reply_url(complaint), {"text": "   "})
    assert response.status_code == 400
    assert_private(response)
    assert "Write your answer, or attach a document" in text_of(response)
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT
    assert InformationRequest.objects.get(complaint=complaint).answered_at is None


def test_documents_get_the_complaint_forms_checks_and_good_ones_are_kept(client):
    complaint = waiting()
    first = client.post(reply_url(complaint), {"text": "Here you are.", "documents": [pdf(), pdf("setup.pdf", EXE)]})
    content = first.content.decode()
    assert first.status_code == 400
    # The same words as the complaint form (cases.uploads.validate_upload).
    assert "&#x27;setup.pdf&#x27; is not a PDF: it looks like a Windows program." in content
    assert "Already attached" in content
    assert "Here you are.</textarea>" in content  # the typing is kept
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT
    assert not Attachment.objects.filter(complaint=complaint).exists()

    kept = re.search(r'name="kept_documents" value="([^"]+)"', content).group(1)
    second = client.post(reply_url(complaint), {"text": "Here you are.", "kept_documents": kept})
    assert second.status_code == 303
    assert [a.original_name for a in Attachment.objects.filter(complaint=complaint)] == ["invoice.pdf"]


def test_too_many_documents_are_refused(client, settings):
    settings.INTAKE_MAX_FILES = 2
    complaint = waiting()
    files = [pdf(f"p{i}.pdf", PDF + str(i).encode()) for i in range(3)]
    response = client.post(reply_url(complaint), {"text": "All of them.", "documents": files})
    assert response.status_code == 400
    assert "You can attach up to 2 files; you chose 3." in text_of(response)
    assert not Attachment.objects.filter(complaint=complaint).exists()


def test_an_answer_sent_twice_is_saved_once_and_the_second_says_why(client):
    complaint = waiting()
    assert client.post(reply_url(complaint), {"text": "First answer."}).status_code == 303
    again = client.post(reply_url(complaint), {"text": "Second answer."})
    assert again.status_code == 409
    assert_private(again)
    assert again["Referrer-Policy"] == "same-origin"
    page = text_of(again)
    assert "We are not waiting for an answer on this complaint at the moment, so nothing was sent" in page
    # What they wrote is offered again as a message (the case is still open), not lost.
    assert b'name="text"' in again.content
    assert b"Second answer.</textarea>" in again.content
    assert b"/write/" in again.content
    assert list(InformationRequest.objects.values_list("answer", flat=True)) == ["First answer."]
    assert ComplaintEvent.objects.filter(complaint=complaint, kind=ComplaintEvent.Kind.CLIENT_REPLIED).count() == 1


def test_an_answer_when_nothing_was_asked_is_refused(client):
    worker = lead()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    response = client.post(reply_url(complaint), {"text": "Hello?"})
    assert response.status_code == 409
    assert "We are not waiting for an answer" in text_of(response)
    assert not ClientMessage.objects.exists()
    complaint.refresh_from_db()
    assert complaint.status == Status.ACKNOWLEDGED


def test_an_expired_link_gets_the_expired_page_and_saves_nothing(client, settings):
    complaint = waiting()
    with time_machine.travel(timezone.now() - timedelta(days=settings.CLIENT_LINK_MAX_AGE_DAYS + 1)):
        token = links.client_token(complaint)
    response = client.post(reverse("client:reply", args=[token]), {"text": "Late answer."})
    assert response.status_code == 410
    assert_private(response)
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT


def test_a_forged_link_is_404_and_saves_nothing(client):
    complaint = waiting()
    token = signing.dumps([complaint.public_id.hex, 1], salt="not.ours")
    response = client.post(reverse("client:reply", args=[token]), {"text": "Hi."})
    assert response.status_code == 404
    assert complaint.reference not in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT


def test_the_reply_address_takes_posts_only(client):
    complaint = waiting()
    response = client.get(reply_url(complaint))
    assert response.status_code == 405
    assert_private(response)


# --- In a browser, on a phone --------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_client_answers_on_a_phone(live_server, monkeypatch, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    evidence = tmp_path / "invoice-0042.pdf"
    evidence.write_bytes(PDF)
    complaint = waiting(question="Which site was affected, and at what time did the VPN go down?")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=args)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-GB", timezone_id="Europe/London"
        )
        page = context.new_page()
        assert page.goto(live_server.url + page_url(complaint)).status == 200
        assert page.get_by_role("heading", name="We need more information from you").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "client-reply-form-phone.png", full_page=True)

        # Sending nothing: the problem is listed, nothing changes.
        with page.expect_navigation():
            page.get_by_role("button", name="Send your answer").click()
        assert page.locator("#error-summary").is_visible()
        page.screenshot(path=shots / "client-reply-error-phone.png", full_page=True)

        page.fill("#id_text", "The Wycombe office, from 9:15 on Monday.")
        page.set_input_files("#id_documents", str(evidence))
        with page.expect_navigation():
            page.get_by_role("button", name="Send your answer").click()
        assert "Thank you: we have your answer" in page.locator("main").inner_text()
        assert "invoice-0042.pdf" in page.locator("main").inner_text()
        page.screenshot(path=shots / "client-reply-sent-phone.png", full_page=True)
        browser.close()

    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert [a.original_name for a in complaint.attachments.all()] == ["invoice-0042.pdf"]
