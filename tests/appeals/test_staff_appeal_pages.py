"""Staff pages for appeals: logging one received by letter or email, and the appeal on the case page."""

from __future__ import annotations

import datetime as dt
import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appeals import services as appeal_services
from appeals.models import Appeal
from cases import uploads
from cases.models import Attachment, Complaint, ComplaintEvent
from cases.services import ActionSpec
from cases.uploads import validate_upload
from notifications.models import OutboundMessage
from tests.appeals.helpers import APPEAL_REASONS, lodged, responded
from tests.cases.test_uploads import EXE, PDF
from tests.factories import AcknowledgedComplaintFactory, business_days_from_today, director, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
Status = Complaint.Status


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def case_url(complaint) -> str:
    return reverse("staff:case", args=[complaint.reference])


def log_url(complaint) -> str:
    return reverse("staff:appeal_log", args=[complaint.reference])


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def scan(name="appeal-letter.pdf", content=PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def form(received_at: dt.datetime, **fields) -> dict:
    data = {"channel": "letter", "received_at": local(received_at), "reasons": APPEAL_REASONS, "late_reason": ""}
    data.update(fields)
    return data


@pytest.fixture(autouse=True)
def _no_staging_left_over():
    uploads.purge_stale_staging(max_age=timedelta(0))
    yield
    uploads.purge_stale_staging(max_age=timedelta(0))


@pytest.fixture
def worker():
    return manager(first_name="Max", last_name="Manager")


@pytest.fixture
def boss():
    return lead(first_name="Lena", last_name="Lead")


@pytest.fixture(autouse=True)
def _an_ordinary_morning():
    """These pages log letters that arrived "now" and show the deadlines from then: run them on an
    ordinary Wednesday morning, whatever day the suite runs (on the night the clocks go back, "an hour
    ago" and "now" can read the same on a London clock). Tests of particular days set their own moment."""
    with time_machine.travel(dt.datetime(2026, 12, 9, 11, 0, tzinfo=LONDON), tick=True):
        yield


@pytest.fixture
def case(worker):
    """A complaint answered (not upheld) three hours ago by the manager assigned to it."""
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        return responded(worker, assignee=worker)


@pytest.fixture
def as_lead(client, boss):
    client.force_login(boss)
    return client


def nothing_saved(complaint) -> None:
    complaint.refresh_from_db()
    assert complaint.status == Status.RESPONDED
    assert not Appeal.objects.filter(complaint=complaint).exists()
    assert not complaint.attachments.filter(for_appeal=True).exists()
    assert not OutboundMessage.objects.filter(complaint=complaint, kind="appeal_acknowledgement").exists()


# --- The button -------------------------------------------------------------------------------------


def test_a_lead_sees_log_an_appeal_on_an_answered_case(as_lead, case):
    response = as_lead.get(case_url(case))
    assert f'href="{log_url(case)}"' in response.content.decode()
    assert "Log an appeal" in text_of(response)


def test_no_log_button_for_a_manager_nor_before_the_outcome_nor_once_appealed(client, as_lead, case, worker):
    client.force_login(worker)
    assert log_url(case) not in client.get(case_url(case)).content.decode()

    open_case = AcknowledgedComplaintFactory()
    assert (
        reverse("staff:appeal_log", args=[open_case.reference]) not in as_lead.get(case_url(open_case)).content.decode()
    )

    lodged(case)
    assert log_url(case) not in as_lead.get(case_url(case)).content.decode()


# --- Logging ------------------------------------------------------------------------------------------


def test_the_log_page_shows_the_case_and_the_form(as_lead, case):
    response = as_lead.get(log_url(case))
    content = response.content.decode()
    text = text_of(response)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert case.reference in text
    assert "Outcome Not upheld" in text
    assert f"Until {case.appeal_deadline:%a} {case.appeal_deadline.day}" in text
    for name in ("channel", "received_at", "reasons", "documents", "late_reason"):
        assert f'name="{name}"' in content, name
    assert 'type="datetime-local"' in content
    assert 'enctype="multipart/form-data"' in content
    assert '<label class="form-label" for="id_reasons">' in content
    assert f"closed on {case.appeal_deadline:%A} {case.appeal_deadline.day}" in text  # the late-reason hint


def test_a_lead_logs_a_letter_with_its_real_time_of_receipt(as_lead, boss, case):
    director(email="director@jpditservices.com")
    received = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    response = as_lead.post(log_url(case), {**form(received), "documents": [scan()]})

    assert response.status_code == 303
    assert response["Location"] == case_url(case) + "#appeal"
    appeal = Appeal.objects.get(complaint=case)
    assert appeal.channel == Appeal.Channel.LETTER
    assert appeal.received_at == received
    assert appeal.logged_by == boss
    assert appeal.reasons == APPEAL_REASONS
    assert appeal.late_reason == ""
    [document] = case.attachments.filter(for_appeal=True)
    assert (document.original_name, document.source) == ("appeal-letter.pdf", Attachment.Source.STAFF)
    event = case.events.get(kind=ComplaintEvent.Kind.APPEAL_RECEIVED)
    assert event.actor == boss
    assert "received by letter" in event.summary
    kinds = set(OutboundMessage.objects.filter(complaint=case).values_list("kind", flat=True))
    assert {"appeal_acknowledgement", "staff_new_appeal"} <= kinds

    page = text_of(as_lead.get(response["Location"]))
    assert "Appeal logged. Its acknowledgement is due by" in page
    assert "goes to the client by email now" in page


def test_the_deadline_runs_from_the_real_receipt_time_not_the_logging_time(client, boss, worker):
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=LONDON), tick=False):
        complaint = responded(worker, assignee=worker)
    # Arrived Friday 27 November 2026 at 18:00 (after close of business), logged the next Tuesday.
    with time_machine.travel(dt.datetime(2026, 12, 1, 11, 0, tzinfo=LONDON), tick=False):
        client.force_login(boss)
        response = client.post(
            log_url(complaint), form(dt.datetime(2026, 11, 27, 18, 0, tzinfo=LONDON), channel="email")
        )
    assert response.status_code == 303
    appeal = Appeal.objects.get(complaint=complaint)
    assert appeal.received_at == dt.datetime(2026, 11, 27, 18, 0, tzinfo=LONDON)
    # Effective Monday 30 November: acknowledgement due two business days later, not from 1 December.
    assert appeal.acknowledgement_due == dt.date(2026, 12, 2)


def test_reasons_channel_and_time_are_required(as_lead, case):
    response = as_lead.post(log_url(case), {"channel": "", "received_at": "", "reasons": " "})
    content = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-summary"' in content
    for anchor in ("#id_channel_0", "#id_received_at", "#id_reasons"):
        assert f'<a href="{anchor}">' in content, anchor
    assert "Choose how the appeal arrived" in text_of(response)
    nothing_saved(case)


def test_a_time_of_receipt_in_the_future_is_refused(as_lead, case):
    response = as_lead.post(log_url(case), form(timezone.now() + timedelta(hours=2)))
    assert response.status_code == 400
    assert "The time of receipt cannot be in the future." in text_of(response)
    assert 'id="id_received_at-error"' in response.content.decode()
    nothing_saved(case)


def test_a_time_before_the_outcome_is_refused_by_the_service_next_to_the_field(as_lead, case):
    response = as_lead.post(log_url(case), form(case.responded_at - timedelta(days=1)))
    assert response.status_code == 400
    assert "the appeal cannot be older" in text_of(response)
    assert 'id="id_received_at-error"' in response.content.decode()
    nothing_saved(case)


def test_a_late_appeal_needs_the_reason_it_was_accepted(client, boss, case):
    as_lead = client
    late = dt.datetime.combine(case.appeal_deadline + timedelta(days=3), dt.time(10), tzinfo=LONDON)
    with time_machine.travel(late + timedelta(hours=1), tick=False):
        as_lead.force_login(boss)
        refused = as_lead.post(log_url(case), {**form(late), "documents": [scan()]})
        assert refused.status_code == 400
        text = text_of(refused)
        assert f"after the window closed on {case.appeal_deadline.day} {case.appeal_deadline:%B %Y}" in text
        assert 'id="id_late_reason-error"' in refused.content.decode()
        assert '<a href="#id_late_reason">' in refused.content.decode()
        assert "Already attached" in text  # the scan is kept, not asked for again
        nothing_saved(case)

        kept = re.search(r'name="kept_documents" value="([^"]+)"', refused.content.decode()).group(1)
        accepted = as_lead.post(
            log_url(case),
            {**form(late), "late_reason": "The client was in hospital.", "kept_documents": kept},
        )
        page = text_of(as_lead.get(case_url(case)))
    assert accepted.status_code == 303
    appeal = Appeal.objects.get(complaint=case)
    assert appeal.late_reason == "The client was in hospital."
    assert case.attachments.filter(for_appeal=True).count() == 1
    assert "Late appeal accepted" in page
    assert "The client was in hospital." in page
    assert f"Logged by {boss.get_full_name()}" in page


def test_a_disguised_scan_is_refused_and_nothing_is_saved(as_lead, case):
    response = as_lead.post(log_url(case), {**form(timezone.now()), "documents": [scan("letter.pdf", EXE)]})
    assert response.status_code == 400
    assert "'letter.pdf' is not a PDF: it looks like a Windows program." in text_of(response)
    nothing_saved(case)


def test_no_second_appeal_can_be_logged(as_lead, case):
    lodged(case)
    shown = as_lead.get(log_url(case))
    assert shown.status_code == 200
    assert "has already been made" in text_of(shown)
    assert 'name="reasons"' not in shown.content.decode()
    response = as_lead.post(log_url(case), form(timezone.now()))
    assert response.status_code == 409
    assert Appeal.objects.filter(complaint=case).count() == 1


def test_no_appeal_can_be_logged_before_the_outcome(as_lead):
    complaint = AcknowledgedComplaintFactory()
    response = as_lead.post(log_url(complaint), form(timezone.now()))
    assert response.status_code == 409
    assert "has no outcome to appeal against yet" in text_of(response)
    assert not Appeal.objects.exists()


def test_a_client_without_email_gets_an_acknowledgement_letter_to_post(as_lead, worker):
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        complaint = responded(worker, assignee=worker, email="", preferred_contact="post", postal_address="1 High St")
    response = as_lead.post(log_url(complaint), form(timezone.now()))
    assert response.status_code == 303
    assert complaint.letters.filter(kind="appeal_acknowledgement").exists()
    page = text_of(as_lead.get(case_url(complaint)))
    assert "print the appeal acknowledgement letter" in page
    assert "Appeal acknowledgement letter" in page


def test_the_assigned_manager_cannot_open_or_post_the_log_page(client, case, worker):
    client.force_login(worker)
    assert client.get(log_url(case)).status_code == 403
    assert client.post(log_url(case), form(timezone.now())).status_code == 403
    nothing_saved(case)


# --- The appeal on the case page -----------------------------------------------------------------


def test_the_assigned_manager_reads_the_appeal_on_their_case(client, case, worker):
    appeal_services.appeal_lodge(complaint=case, reasons=APPEAL_REASONS, files=[])
    appeal = Appeal.objects.get(complaint=case)
    client.force_login(worker)
    response = client.get(case_url(case))
    text = text_of(response)
    assert response.status_code == 200
    assert "Appeal State Received" in text
    assert "from the client's case page" in text
    assert f"Due {appeal.acknowledgement_due:%A} {appeal.acknowledgement_due.day}" in text
    assert APPEAL_REASONS in text
    assert "The Director reviews and decides this appeal in the admin" in text
    assert "Under appeal" in text
    assert "Appeal acknowledgement by" in text  # the header's next deadline


def test_the_appeal_documents_download_through_the_permission_checked_view(client, case, worker):
    upload = validate_upload(scan("my-appeal.pdf"))
    appeal_services.appeal_lodge(complaint=case, reasons=APPEAL_REASONS, files=[upload])
    document = case.attachments.get(for_appeal=True)
    client.force_login(worker)
    response = client.get(case_url(case))
    appeal_part = text_of(response).split("Documents sent with the appeal", 1)[1]
    assert "my-appeal.pdf" in appeal_part
    download = reverse("staff:attachment_download", args=[case.reference, document.pk])
    assert download in response.content.decode()
    assert client.get(download).status_code == 200
    content = response.content.decode()
    documents_section = content.split('id="attachments-heading"', 1)[1].split("</section>", 1)[0]
    assert "my-appeal.pdf" not in documents_section  # the case's own documents are listed apart

    client.force_login(manager())  # a manager with no role in this case
    assert client.get(case_url(case)).status_code == 404
    assert client.get(download).status_code == 404


def test_the_decision_shows_read_only_once_issued(as_lead, case):
    appeal = lodged(case)
    owner = lead(first_name="Olga", last_name="Owner")
    appeal_services.appeal_decide(
        actor=director(),
        appeal=appeal,
        decision="original_decision_changed",
        new_outcome="upheld",
        reasons="The engineer's delay was not explained.",
        recommendations="Tell clients when a visit is moved.",
        actions=[
            ActionSpec(
                kind="put_right",
                description="Refund the call-out fee.",
                owner=owner,
                due_date=business_days_from_today(7),
            )
        ],
    )
    response = as_lead.get(case_url(case))
    text = text_of(response)
    assert "Appeal: Original decision changed" in text
    assert "Decided (final)" in text
    assert "The engineer's delay was not explained." in text
    assert "Tell clients when a visit is moved." in text
    assert "Actions set by the Director" in text
    assert "Refund the call-out fee." in text
    assert "Olga Owner" in text
    assert "cannot be changed" in text
    assert "Final decision on the appeal (PDF)" in text
    assert "Log an appeal" not in text
    # The Director's action is not listed again among the outcome's.
    outcome_part = text.split("Outcome: Not upheld", 1)[1].split("Appeal: Original decision changed", 1)[0]
    assert "Refund the call-out fee." not in outcome_part


def test_the_case_page_with_an_appeal_keeps_its_query_budget(as_lead, case):
    appeal_services.appeal_lodge(
        complaint=case,
        reasons=APPEAL_REASONS,
        files=[validate_upload(scan(f"doc{n}.pdf", PDF + bytes([n]))) for n in range(3)],
    )
    with CaptureQueriesContext(connection) as queries:
        assert as_lead.get(case_url(case)).status_code == 200
    # 11 (the user with their roles and second factor in one query), and the reusable paragraphs of the update
    # form (a minute's cache, empty here: the worst case).
    assert len(queries) <= 12


# --- In a browser ------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_a_lead_logs_an_appeal_in_a_browser_and_the_case_page_shows_it(
    live_server, monkeypatch, tmp_path, device, viewport
):
    import os
    from pathlib import Path

    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    letter = tmp_path / "appeal-letter-scan.pdf"
    letter.write_bytes(PDF)
    boss = lead(first_name="Lena", last_name="Lead")
    worker = manager(first_name="Max", last_name="Manager")
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        complaint = responded(
            worker,
            assignee=worker,
            name="Ada Lovelace",
            organisation="Analytical Engines Ltd",
            description="The engineer did not turn up for the agreed visit, twice. Our VPN was down for two days.",
        )
    received = timezone.localtime() - timedelta(days=1)

    signed_in = Client()
    signed_in.force_login(boss)
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=args)
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale="en-GB", timezone_id="Europe/London"
        )
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        assert page.goto(live_server.url + case_url(complaint)).status == 200
        with page.expect_navigation():
            page.get_by_role("link", name="Log an appeal").click()
        assert page.get_by_role("heading", name=f"Log an appeal on {complaint.reference}").is_visible()

        # Nothing filled in: every problem at the top, each next to its field.
        with page.expect_navigation():
            page.get_by_role("button", name="Log the appeal").click()
        assert page.locator("#error-summary li").count() == 2  # how it arrived, the reasons
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        page.screenshot(path=shots / f"staff-appeal-log-error-{device}.png", full_page=True)

        page.get_by_label("By letter").check()
        page.fill("#id_received_at", received.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#id_reasons", APPEAL_REASONS)
        page.set_input_files("#id_documents", str(letter))
        with page.expect_navigation():
            page.get_by_role("button", name="Log the appeal").click()
        assert "Appeal logged." in page.locator("main").inner_text()
        section = page.locator("#appeal").inner_text()
        assert "by letter" in section
        assert "appeal-letter-scan.pdf" in section
        assert "Lena Lead" in section
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        page.screenshot(path=shots / f"staff-case-appeal-{device}.png", full_page=True)
        browser.close()

    appeal = Appeal.objects.get(complaint=complaint)
    assert appeal.received_at == received.replace(second=0, microsecond=0)
    assert appeal.channel == Appeal.Channel.LETTER
