"""The public complaint form in a real browser (Chromium via Playwright), at desktop and phone widths.

Screenshots of the empty form, the form with errors and the confirmation go to
$SCREENSHOT_DIR (default var/screenshots) for a person to look at.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from cases.business_days import london_today
from cases.models import Complaint
from tests.cases.test_uploads import PDF
from tests.services import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


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


def submit(page) -> None:
    """Press Enter on the send button and wait for the next page."""
    page.get_by_role("button", name="Send my complaint").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def text_of(page, selector: str) -> str:
    """What a screen reader hears: the text including visually hidden parts, spaces normalised."""
    return " ".join(page.locator(selector).text_content().split())


def type_into(page, selector: str, text: str) -> None:
    """Move to a field with the keyboard's focus and type, as a person would."""
    page.focus(selector)
    page.keyboard.type(text)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_client_files_a_complaint_with_a_document_after_correcting_an_error(
    live_server, browser, screenshots, tmp_path, device
):
    evidence = tmp_path / "engineer-report.pdf"
    evidence.write_bytes(PDF)
    context = browser.new_context(viewport=WIDTHS[device], locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()

    assert page.goto(live_server.url + "/").status == 200
    assert page.get_by_role("heading", name="Make a complaint").is_visible()
    page.screenshot(path=screenshots / f"public-form-empty-{device}.png", full_page=True)

    # An empty submit: the summary lists every problem, each a link to its field.
    submit(page)
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.url.endswith("#error-summary")
    assert summary.get_by_role("link", name="Enter your full name.").get_attribute("href") == "#id_name"
    assert text_of(page, "#id_name-error") == "Error: Enter your full name."
    page.screenshot(path=screenshots / f"public-form-errors-{device}.png", full_page=True)

    # Following a summary link lands on the field.
    summary.get_by_role("link", name="Enter your full name.").click()
    assert page.evaluate("document.activeElement.id") == "id_name"

    # Fill everything but the description, with a document: the document is kept.
    page.keyboard.type("Ada Lovelace")
    page.keyboard.press("Tab")
    page.keyboard.type("ada@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("01494 123456")
    page.fill("#id_incident_date", (london_today() - timedelta(days=2)).isoformat())
    page.set_input_files("#id_documents", str(evidence))
    page.focus("#id_privacy_ack")
    page.keyboard.press("Space")
    submit(page)
    assert text_of(page, "#id_description-error") == "Error: Tell us what went wrong."
    assert "engineer-report.pdf" in page.locator(".kept-files").inner_text()
    assert page.input_value("#id_name") == "Ada Lovelace"
    assert not Complaint.objects.exists()
    page.screenshot(path=screenshots / f"public-form-kept-file-{device}.png", full_page=True)

    type_into(page, "#id_description", "Since your engineer's visit on Monday our VPN has been down.")
    if not page.is_checked("#id_privacy_ack"):
        page.focus("#id_privacy_ack")
        page.keyboard.press("Space")
    submit(page)

    complaint = Complaint.objects.get()
    assert page.locator(".reference-number").inner_text() == complaint.reference
    assert "ada@example.com" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Follow your complaint").is_visible()
    page.screenshot(path=screenshots / f"public-confirmation-{device}.png", full_page=True)
    context.close()

    assert [a.original_name for a in complaint.attachments.all()] == ["engineer-report.pdf"]
    assert complaint.description.startswith("Since your engineer's visit")


def test_procedure_page_at_phone_width(live_server, browser, screenshots):
    page = browser.new_page(viewport=WIDTHS["phone"])

    assert page.goto(live_server.url + "/procedure/").status == 200
    assert "2 working days" in page.locator("main").inner_text()
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"]["width"]
    page.screenshot(path=screenshots / "public-procedure-phone.png", full_page=True)
