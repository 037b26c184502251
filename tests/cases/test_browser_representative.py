"""A representative in a real browser, at desktop and phone width: a solicitor opens "Are you complaining for
someone else?" on the public form, fills in their details and the client's consent and files the complaint; the
case's manager then changes who gets the letters on the representative's page. Each page is checked with axe
and for sideways scrolling, and screenshotted to $SCREENSHOT_DIR (default var/screenshots) as
representative-<width>-NN-<step>.png."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from cases.models import Complaint
from tests.cases.test_browser_client_voice import _session_cookie, browser  # noqa: F401 - the fixture
from tests.cases.test_browser_public import WIDTHS
from tests.factories import manager
from tests.services import screenshot_dir
from tests.test_accessibility import Audit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_solicitor_complains_for_a_client_and_the_manager_changes_who_gets_the_letters(
    live_server,
    browser,  # noqa: F811 - the fixture imported above
    settings,
    device,
):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    shot = itertools.count(1)
    screenshots = screenshot_dir()
    viewport = WIDTHS[device]
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    audit = Audit(page)

    def snap(name: str) -> None:
        page.screenshot(path=screenshots / f"representative-{device}-{next(shot):02d}-{name}.png", full_page=True)
        audit.check(name)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name

    try:
        assert page.goto(live_server.url + reverse("public:complaint_form")).status == 200
        page.fill("#id_name", "Ada Lovelace")
        page.fill("#id_incident_date", "2026-11-20")
        page.fill("#id_description", "The engineer never came, twice.")
        assert not page.locator("#id_representative_name").is_visible()  # folded away until asked for
        page.get_by_text("Are you complaining for someone else?").click()
        page.fill("#id_representative_name", "Grace Hopper")
        page.fill("#id_representative_relationship", "solicitor")
        page.fill("#id_representative_email", "grace@hopper-law.example")
        page.fill("#id_representative_consent_note", "Signed letter of authority.")
        page.fill("#id_representative_consent_given_on", "2026-11-30")
        page.get_by_label("Only me").check()
        page.get_by_label("I have read the privacy notice", exact=False).check()
        snap("form-filled")
        with page.expect_navigation():
            page.get_by_role("button", name="Send my complaint").click()
        assert "JPD-" in page.content()
        assert "is on its way to grace@hopper-law.example." in page.inner_text("main")
        snap("received")
        complaint = Complaint.objects.get()
        assert complaint.representative_name == "Grace Hopper"
        assert complaint.correspondence_to == Complaint.Correspondence.REPRESENTATIVE
        assert complaint.email == ""

        worker = manager(first_name="Sam", last_name="Okafor")
        Complaint.objects.filter(pk=complaint.pk).update(assignee=worker)
        context.add_cookies([_session_cookie(live_server, worker)])
        assert page.goto(f"{live_server.url}/staff/complaints/{complaint.reference}/").status == 200
        assert "(represented by Grace Hopper, solicitor)" in page.content()
        page.get_by_role("link", name="Change or remove the representative").click()
        page.wait_for_load_state()
        snap("staff-representative-page")
        page.fill("#id_representative-phone", "020 7946 0000")
        page.get_by_label("Both").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Save the representative").click()
        assert "Representative recorded." in page.content()
        snap("staff-case-after")
        complaint.refresh_from_db()
        assert complaint.correspondence_to == Complaint.Correspondence.BOTH
        assert complaint.representative_phone == "020 7946 0000"
        audit.assert_clean()
    finally:
        context.close()
