"""The client appeals to the Director from their secure case page (/track/<token>/appeal/)."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appeals import services as appeal_services
from appeals.models import Appeal
from cases import business_days, links, uploads
from cases.models import Attachment, Complaint, ComplaintEvent
from cases.services import ActionSpec
from notifications.models import OutboundMessage
from tests.appeals.helpers import APPEAL_REASONS, FINDINGS, REASONS, deliver, lodged, responded
from tests.cases.test_uploads import EXE, PDF
from tests.factories import AcknowledgedComplaintFactory, business_days_from_today, director

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
Status = Complaint.Status


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def pdf(name="engineer-report.pdf", content=PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def day(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


@pytest.fixture(autouse=True)
def _no_staging_left_over():
    uploads.purge_stale_staging(max_age=timedelta(0))
    yield
    uploads.purge_stale_staging(max_age=timedelta(0))


@pytest.fixture
def case():
    """A complaint whose outcome (not upheld) has just been issued, and the client's token (made once)."""
    complaint = responded(desired_outcome="A refund of the call-out fee.")
    return complaint, links.client_token(complaint)


def page_url(token: str) -> str:
    return reverse("client:case", args=[token])


def appeal_url(token: str) -> str:
    return reverse("client:appeal", args=[token])


def nothing_saved(complaint: Complaint) -> None:
    complaint.refresh_from_db()
    assert complaint.status == Status.RESPONDED
    assert not Appeal.objects.filter(complaint=complaint).exists()
    assert not complaint.attachments.filter(for_appeal=True).exists()
    assert not complaint.events.filter(kind=ComplaintEvent.Kind.APPEAL_RECEIVED).exists()
    assert not OutboundMessage.objects.filter(complaint=complaint, kind="appeal_acknowledgement").exists()


# --- The way to appeal on the case page --------------------------------------------------------


def test_the_case_page_offers_the_appeal_with_its_last_day_while_the_window_is_open(client, case):
    complaint, token = case
    response = client.get(page_url(token))
    text = text_of(response)
    assert "Not satisfied with our outcome?" in text
    assert f"until {day(complaint.appeal_deadline)}" in text
    assert f'href="{appeal_url(token)}"' in response.content.decode()
    assert "Appeal to our Director" in text


def test_after_the_window_the_case_page_says_the_time_to_appeal_has_ended(client, case):
    complaint, token = case
    after = dt.datetime.combine(complaint.appeal_deadline + timedelta(days=1), dt.time(10), tzinfo=LONDON)
    with time_machine.travel(after, tick=False):
        response = client.get(page_url(token))
    text = text_of(response)
    assert f"The time to appeal ended on {day(complaint.appeal_deadline)}" in text
    assert appeal_url(token) not in response.content.decode()


def test_no_appeal_is_offered_before_the_outcome(client):
    complaint = AcknowledgedComplaintFactory()
    response = client.get(page_url(links.client_token(complaint)))
    assert "/appeal/" not in response.content.decode()
    assert "appeal" not in text_of(response).lower()


# --- The appeal page ------------------------------------------------------------------------------


def test_the_appeal_page_shows_the_reference_the_complaint_and_our_response_then_the_form(client, case):
    complaint, token = case
    outcome_letter = complaint.letters.get(kind="outcome")
    response = client.get(appeal_url(token))
    text = text_of(response)
    content = response.content.decode()
    assert response.status_code == 200
    assert complaint.reference in text
    assert f"Received {complaint.received_at:%A} {complaint.received_at.day}" in text
    assert complaint.description in text
    assert "A refund of the call-out fee." in text
    assert "Outcome Not upheld" in text
    assert FINDINGS in text
    assert REASONS in text
    assert reverse("client:letter_download", args=[token, outcome_letter.pk]) in content
    assert f'action="{appeal_url(token)}#error-summary"' in content
    assert 'enctype="multipart/form-data"' in content
    assert '<label class="form-label" for="id_reasons">' in content
    assert 'name="documents"' in content
    assert f"You can appeal until {day(complaint.appeal_deadline)}" in text


def test_the_appeal_page_is_private_and_can_post(client, case):
    _, token = case
    response = client.get(appeal_url(token))
    assert response["Cache-Control"] == "no-store, private"
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Referrer-Policy"] == "same-origin"
    assert b'<meta name="referrer" content="same-origin">' in response.content


def test_an_appeal_is_lodged_acknowledged_by_email_and_confirmed_on_the_case_page(client, case):
    director(email="director@jpditservices.com")
    complaint, token = case
    response = client.post(appeal_url(token), {"reasons": APPEAL_REASONS, "documents": [pdf()]})

    assert response.status_code == 303
    assert response["Location"] == page_url(token) + "#appeal"
    appeal = Appeal.objects.get(complaint=complaint)
    assert appeal.channel == Appeal.Channel.WEB
    assert appeal.reasons == APPEAL_REASONS
    complaint.refresh_from_db()
    assert complaint.status == Status.UNDER_APPEAL
    [document] = complaint.attachments.filter(for_appeal=True)
    assert document.original_name == "engineer-report.pdf"
    assert document.source == Attachment.Source.CLIENT
    kinds = set(OutboundMessage.objects.filter(complaint=complaint).values_list("kind", flat=True))
    assert {"appeal_acknowledgement", "staff_new_appeal"} <= kinds

    shown = client.get(response["Location"])
    text = text_of(shown)
    assert "we have received your appeal" in text
    assert f"acknowledge it by email by {day(appeal.acknowledgement_due)}" in text
    assert f"within {settings.APPEAL_DECISION_DAYS} business days of that acknowledgement" in text
    assert "Your appeal to our Director" in text
    assert "Under appeal" in text
    assert APPEAL_REASONS in text
    assert "Documents sent with your appeal engineer-report.pdf" in text
    assert "Not satisfied with our outcome?" not in text


def test_reasons_are_required_and_nothing_is_saved_without_them(client, case):
    complaint, token = case
    response = client.post(appeal_url(token), {"reasons": "   "})
    text = text_of(response)
    content = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-summary"' in content
    assert '<a href="#id_reasons">Tell us why you disagree with our decision' in content
    assert 'id="id_reasons-error"' in content
    assert 'aria-invalid="true"' in content
    assert "There is a problem with your answers" in text
    nothing_saved(complaint)


def test_a_disguised_file_is_refused_with_a_clear_message_and_a_good_one_is_kept(client, case):
    complaint, token = case
    response = client.post(
        appeal_url(token),
        {"reasons": APPEAL_REASONS, "documents": [pdf("setup.pdf", EXE), pdf("report.pdf")]},
    )
    text = text_of(response)
    assert response.status_code == 400
    message = "'setup.pdf' is not a PDF: it looks like a Windows program."
    assert text.count(message) == 2  # in the summary at the top and next to the field
    assert '<a href="#id_documents">' in response.content.decode()
    assert "Already attached" in text
    assert "report.pdf" in text
    nothing_saved(complaint)

    # Sent again without choosing the kept file again: it goes with the appeal.
    kept = re.search(r'name="kept_documents" value="([^"]+)"', response.content.decode()).group(1)
    again = client.post(appeal_url(token), {"reasons": APPEAL_REASONS, "kept_documents": kept})
    assert again.status_code == 303
    assert list(complaint.attachments.filter(for_appeal=True).values_list("original_name", flat=True)) == ["report.pdf"]


def test_too_many_documents_are_refused(client, case, settings):
    settings.INTAKE_MAX_FILES = 2
    complaint, token = case
    files = [pdf(f"doc{n}.pdf", PDF + str(n).encode()) for n in range(3)]
    response = client.post(appeal_url(token), {"reasons": APPEAL_REASONS, "documents": files})
    assert response.status_code == 400
    assert "You can attach up to 2 files" in text_of(response)
    nothing_saved(complaint)


def test_an_appeal_after_the_window_is_refused_with_the_reason_and_nothing_is_saved(client, case):
    complaint, token = case
    after = dt.datetime.combine(complaint.appeal_deadline + timedelta(days=1), dt.time(9), tzinfo=LONDON)
    with time_machine.travel(after, tick=False):
        shown = client.get(appeal_url(token))
        response = client.post(appeal_url(token), {"reasons": APPEAL_REASONS, "documents": [pdf()]})
    assert shown.status_code == 200
    assert 'name="reasons"' not in shown.content.decode()
    assert response.status_code == 409
    text = text_of(response)
    assert "Your appeal was not sent." in text
    assert f"The time to appeal ended on {day(complaint.appeal_deadline)}" in text
    assert settings.COMPANY["appeals_email"] in text
    assert APPEAL_REASONS in text  # what they wrote is shown back
    assert 'name="reasons"' not in response.content.decode()
    nothing_saved(complaint)


def test_an_appeal_on_the_last_day_is_accepted(client, case):
    complaint, token = case
    last = dt.datetime.combine(complaint.appeal_deadline, dt.time(23, 30), tzinfo=LONDON)
    with time_machine.travel(last, tick=False):
        response = client.post(appeal_url(token), {"reasons": APPEAL_REASONS})
    assert response.status_code == 303
    assert Appeal.objects.filter(complaint=complaint).exists()


def test_a_second_appeal_is_impossible_no_form_and_a_post_changes_nothing(client, case):
    complaint, token = case
    first = lodged(complaint)

    shown = client.get(appeal_url(token))
    assert shown.status_code == 200
    assert 'name="reasons"' not in shown.content.decode()
    assert "has already been made" in text_of(shown)

    response = client.post(appeal_url(token), {"reasons": "Second thoughts.", "documents": [pdf()]})
    assert response.status_code == 409
    assert "has already been made" in text_of(response)
    assert Appeal.objects.filter(complaint=complaint).count() == 1
    first.refresh_from_db()
    assert first.reasons == APPEAL_REASONS
    assert not complaint.attachments.filter(for_appeal=True).exists()
    case_page = text_of(client.get(page_url(token)))
    assert "Appeal to our Director" not in case_page


def test_no_appeal_page_form_before_the_outcome(client):
    complaint = AcknowledgedComplaintFactory()
    token = links.client_token(complaint)
    response = client.post(appeal_url(token), {"reasons": APPEAL_REASONS})
    assert response.status_code == 409
    assert "has no outcome to appeal against yet" in text_of(response)
    assert not Appeal.objects.exists()


def test_a_forged_token_gets_the_same_404_and_saves_nothing(client, case):
    complaint, token = case
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    get = client.get(appeal_url(forged))
    post = client.post(appeal_url(forged), {"reasons": APPEAL_REASONS})
    elsewhere = client.get(page_url(forged))
    assert get.status_code == post.status_code == 404
    assert get.content == elsewhere.content
    assert complaint.reference not in get.content.decode()
    assert get["Cache-Control"] == "no-store, private"
    nothing_saved(complaint)


def test_an_expired_link_gets_the_expired_page_and_saves_nothing(client, case, settings):
    complaint, _ = case
    old = dt.datetime.now(tz=LONDON) - timedelta(days=settings.CLIENT_LINK_MAX_AGE_DAYS + 1)
    with time_machine.travel(old, tick=False):
        token = links.client_token(complaint)
    response = client.post(appeal_url(token), {"reasons": APPEAL_REASONS})
    assert response.status_code == 410
    assert complaint.reference not in response.content.decode()
    nothing_saved(complaint)


def test_what_the_client_typed_is_escaped(client, case):
    complaint, token = case
    appeal_services.appeal_lodge(complaint=complaint, reasons="<script>alert(1)</script> unfair")
    content = client.get(page_url(token)).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;" in content


# --- The appeal on the case page once made -------------------------------------------------------


def test_the_case_page_follows_the_appeal_to_its_final_decision_and_its_letter(client, case):
    complaint, token = case
    appeal = lodged(complaint)  # the acknowledgement went out
    text = text_of(client.get(page_url(token)))
    assert f"Acknowledged {day(business_days.london_date(appeal.acknowledged_at))}" in text
    assert f"The Director's decision is due by {day(appeal.decision_due)}" in text

    boss = director()
    appeal_services.appeal_decide(
        actor=boss,
        appeal=appeal,
        decision="original_decision_changed",
        new_outcome="upheld",
        reasons="The wait was too long.",
        actions=[ActionSpec(kind="put_right", description="Refund.", owner=boss, due_date=business_days_from_today(5))],
    )
    deliver(kind="appeal_decision_letter")
    response = client.get(page_url(token))
    text = text_of(response)
    assert "Where it stands: Appeal decided" in text
    assert "original decision changed" in text
    assert "The decision is final" in text
    letter = complaint.letters.get(kind="appeal_decision")
    assert reverse("client:letter_download", args=[token, letter.pk]) in response.content.decode()
    assert "Final decision on the appeal" in text
    download = client.get(reverse("client:letter_download", args=[token, letter.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    again = client.get(appeal_url(token))
    assert 'name="reasons"' not in again.content.decode()


def test_the_appeal_documents_are_listed_apart_from_the_complaints(client, case):
    _complaint, token = case
    client.post(appeal_url(token), {"reasons": APPEAL_REASONS, "documents": [pdf("appeal-evidence.pdf")]})
    text = text_of(client.get(page_url(token)))
    mine = text.split("Your documents", 1)[1].split("What has happened so far", 1)[0]
    assert "appeal-evidence.pdf" not in mine
    assert "Documents sent with your appeal appeal-evidence.pdf" in text


# --- In a real browser ------------------------------------------------------------------------------


ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_client_appeals_on_a_phone(live_server, monkeypatch, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    evidence = tmp_path / "call-log.pdf"
    evidence.write_bytes(PDF)
    complaint = responded(desired_outcome="A refund of the call-out fee and an apology.")
    token = links.client_token(complaint)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-GB", timezone_id="Europe/London"
        )
        page = context.new_page()
        assert page.goto(live_server.url + page_url(token)).status == 200
        with page.expect_navigation():
            page.get_by_role("link", name="Appeal to our Director").click()
        assert page.get_by_role("heading", name="Appeal to our Director").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "client-appeal-form-phone.png", full_page=True)

        # Sending nothing: the problem is listed at the top and next to the field, nothing changes.
        with page.expect_navigation():
            page.get_by_role("button", name="Send my appeal to the Director").click()
        assert page.locator("#error-summary").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "client-appeal-error-phone.png", full_page=True)

        page.get_by_label("Why do you disagree with our decision?").fill(APPEAL_REASONS)
        page.set_input_files("#id_documents", str(evidence))
        with page.expect_navigation():
            page.get_by_role("button", name="Send my appeal to the Director").click()
        main = page.locator("main").inner_text()
        assert "we have received your appeal" in main
        assert "call-log.pdf" in main
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=shots / "client-appeal-sent-phone.png", full_page=True)
        browser.close()

    complaint.refresh_from_db()
    assert complaint.status == Status.UNDER_APPEAL
    assert [a.original_name for a in complaint.attachments.filter(for_appeal=True)] == ["call-log.pdf"]
