"""The reports pages in a real browser (Chromium via Playwright) at desktop and phone widths.

Screenshots go to $SCREENSHOT_DIR (default var/screenshots) for a person to look at. The
page must draw its charts under the strict Content-Security-Policy: the browser reports
no CSP violation and the page is no wider than the phone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import lead
from tests.reports.test_figures import data  # noqa: F401 - the hand-made data set, as a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_a_lead_reads_the_reports_and_the_trend(live_server, monkeypatch, data, device, viewport):  # noqa: F811
    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    signed_in = Client()
    signed_in.force_login(lead(first_name="Lena", last_name="Lead"))
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale="en-GB", timezone_id="Europe/London"
        )
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        violations = []
        page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message))

        page.goto(live_server.url + "/staff/")
        with page.expect_navigation():
            page.get_by_role("link", name="Reports").click()
        page.select_option("#id_period", "month")
        page.fill("#id_year", "2026")
        page.select_option("#id_month", "11")
        with page.expect_navigation():
            page.get_by_role("button", name="Show").click()
        assert page.get_by_role("heading", name="Complaints received: 7").is_visible()
        assert page.locator("svg.report-chart").count() >= 8
        assert page.locator("table caption").count() >= 8
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        page.screenshot(path=shots / f"reports-month-{device}.png", full_page=True)

        with page.expect_navigation():
            page.get_by_role("link", name="Last 12 months").click()
        assert page.get_by_role("heading", name="Promises kept per month (% on time)").is_visible()
        page.screenshot(path=shots / f"reports-trend-{device}.png", full_page=True)
        assert not violations, [message.text for message in violations]
        browser.close()
