"""The satisfaction survey in a real browser (Chromium via Playwright), at phone width: the form a client
opens from the email, answered by tapping the scale's buttons, sent past the CSRF check (its referrer
policy lets the browser name our own origin), and the thanks. A screenshot goes to $SCREENSHOT_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cases.models import Complaint
from satisfaction import links
from satisfaction.models import Survey
from tests.factories import AcknowledgedComplaintFactory
from tests.services import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_a_client_answers_the_survey_on_a_phone(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.CLOSED, outcome=Complaint.Outcome.UPHELD)
    survey = Survey.objects.create(complaint=complaint, recipient="client")
    screenshots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    screenshots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        page = chromium.new_page(viewport={"width": 390, "height": 844})
        assert page.goto(f"{live_server.url}/feedback/{links.survey_token(survey)}/").status == 200
        page.screenshot(path=screenshots / "survey-phone.png", full_page=True)
        # No sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for question, score in (("fair", 4), ("informed", 2), ("clear", 5)):
            page.locator(f"label[for=id_{question}_{score - 1}]").click()
        page.fill("textarea[name=comment]", "Clear letter, slow updates.")
        with page.expect_navigation():
            page.get_by_role("button", name="Send my answers").click()
        assert page.get_by_role("heading", name="Thank you").is_visible()
        chromium.close()

    survey.refresh_from_db()
    assert (survey.fair, survey.informed, survey.clear, survey.comment) == (4, 2, 5, "Clear letter, slow updates.")
