"""The client's side of the conversation in a real browser, at desktop and phone width: they send a message
with a document, staff answer with an update, the client reads it and withdraws (a confirmation step); a
complaints lead reopens the withdrawal. Each page is checked with axe and for sideways scrolling, and
screenshotted to $SCREENSHOT_DIR (default var/screenshots) as client-voice-<width>-NN-<step>.png."""

from __future__ import annotations

import itertools

import pytest

from cases import links, services
from cases.models import ClientMessage, Complaint
from tests.cases.test_browser_public import ARGS, WIDTHS
from tests.cases.test_uploads import PDF
from tests.factories import AcknowledgedComplaintFactory, lead, manager
from tests.services import chromium_path, missing, screenshot_dir
from tests.test_accessibility import Audit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    if not chromium_path():
        missing("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_client_writes_reads_an_update_and_withdraws_and_a_lead_reopens(
    live_server,
    browser,
    tmp_path,
    device,
):
    worker, the_lead = manager(first_name="Sam", last_name="Okafor"), lead()
    complaint = AcknowledgedComplaintFactory(assignee=worker, name="Ada Lovelace")
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    token = links.client_token(complaint)
    evidence = tmp_path / "photo-of-cabinet.pdf"
    evidence.write_bytes(PDF)
    shot = itertools.count(1)
    screenshots = screenshot_dir()
    viewport = WIDTHS[device]

    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    audit = Audit(page)

    def snap(name: str) -> None:
        page.screenshot(path=screenshots / f"client-voice-{device}-{next(shot):02d}-{name}.png", full_page=True)
        audit.check(name)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name

    try:
        # The client writes, with a document.
        assert page.goto(f"{live_server.url}/track/{token}/").status == 200
        assert page.get_by_role("heading", name="Send us a message or documents").is_visible()
        page.fill("#id_text", "The engineer left the cabinet unlocked; photo attached.")
        page.set_input_files("#id_documents", str(evidence))
        with page.expect_navigation():
            page.get_by_role("button", name="Send", exact=True).click()
        assert "your message has reached us" in page.content()
        assert page.get_by_role("heading", name="Your messages to us").is_visible()
        snap("message-sent")
        assert ClientMessage.objects.get(complaint=complaint).document_names == ["photo-of-cabinet.pdf"]

        # Staff reply with an update (as the service the staff page calls), and the client reads it.
        services.complaint_send_update(actor=worker, complaint=complaint, text="We have asked the engineer's manager.")
        page.reload()
        assert page.get_by_role("heading", name="Updates from us").is_visible()
        assert "We have asked the engineer's manager." in page.content()

        # The client withdraws: a confirmation step first.
        page.get_by_role("link", name="Withdraw my complaint").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Do you want to withdraw your complaint?").is_visible()
        snap("withdraw-confirm")
        page.fill("#id_reason", "Sorted out on the phone.")
        with page.expect_navigation():
            page.get_by_role("button", name="Yes, withdraw my complaint").click()
        assert "Your complaint is withdrawn" in page.content()
        snap("withdrawn")
        complaint.refresh_from_db()
        assert complaint.status == Complaint.Status.WITHDRAWN

        # A complaints lead reopens it from the case page.
        context.add_cookies([_session_cookie(live_server, the_lead)])
        assert page.goto(f"{live_server.url}/staff/complaints/{complaint.reference}/").status == 200
        snap("staff-withdrawn-case")
        page.fill("#id_reopen-reason", "The client called back: withdrawn by mistake.")
        with page.expect_navigation():
            page.get_by_role("button", name="Reopen").click()
        assert "Reopened" in page.content()
        snap("staff-reopened")
        complaint.refresh_from_db()
        assert complaint.status == Complaint.Status.INVESTIGATING
        audit.assert_clean()
    finally:
        context.close()


def _session_cookie(live_server, user) -> dict:
    """Signed in as ``user`` (the second factor is not required in the test settings)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }
