"""The satisfaction survey and the published annual report in a real browser (Chromium via Playwright), at phone
width: the form a client opens from the email, answered by tapping the scale's buttons, sent past the CSRF check
(its referrer policy lets the browser name our own origin), and the thanks; the public report page. axe-core
checks each page (``tests/test_accessibility.py``); screenshots go to $SCREENSHOT_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone

from cases.business_days import london_today
from cases.models import Complaint
from reports.annual import annual_figures
from reports.models import AnnualReport
from satisfaction import links
from satisfaction.models import Survey
from tests.factories import AcknowledgedComplaintFactory, director
from tests.services import chromium_path
from tests.test_accessibility import Audit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_a_client_answers_the_survey_on_a_phone_and_reads_the_published_report(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.CLOSED, outcome=Complaint.Outcome.UPHELD)
    survey = Survey.objects.create(complaint=complaint, recipient="client")
    year = london_today().year - 1
    boss = director()
    AnnualReport.objects.create(
        year=year,
        version=1,
        state=AnnualReport.State.PUBLISHED,
        figures=annual_figures(year),
        figures_as_of=london_today(),
        changes="Every booking is now confirmed by text.",
        created_by=boss,
        published_by=boss,
        published_at=timezone.now(),
    )
    screenshots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    screenshots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        page = chromium.new_page(viewport={"width": 390, "height": 844})
        audit = Audit(page)
        assert page.goto(f"{live_server.url}/feedback/{links.survey_token(survey)}/").status == 200
        page.screenshot(path=screenshots / "survey-phone.png", full_page=True)
        audit.check("survey")
        # No sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for question, score in (("fair", 4), ("informed", 2), ("clear", 5)):
            page.locator(f"label[for=id_{question}_{score - 1}]").click()
        page.fill("textarea[name=comment]", "Clear letter, slow updates.")
        with page.expect_navigation():
            page.get_by_role("button", name="Send my answers").click()
        assert page.get_by_role("heading", name="Thank you").is_visible()
        audit.check("survey answered")
        assert page.goto(f"{live_server.url}/complaint-handling/{year}/").status == 200
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=screenshots / "annual-report-phone.png", full_page=True)
        audit.check("annual report")
        chromium.close()

    audit.assert_clean()

    survey.refresh_from_db()
    assert (survey.fair, survey.informed, survey.clear, survey.comment) == (4, 2, 5, "Clear letter, slow updates.")
