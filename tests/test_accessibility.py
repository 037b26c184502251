"""Accessibility in a real browser: axe-core on every public and client page and the main staff pages.

axe-core is vendored in tests/vendor/axe-core-4.14.1/: axe.min.js from ``npm pack axe-core@4.14.1``
(package integrity sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==),
its MPL-2.0 LICENSE, the licences of the code it bundles, and SHA256SUMS (checked on import).
To upgrade: npm pack the new exact version, replace the folder, regenerate SHA256SUMS, change AXE_DIR.

The site's CSP allows no inline script, so axe is injected with ``page.evaluate``
(run by the browser's debugging protocol, outside the page's CSP).

A page passes when axe reports no ``serious`` or ``critical`` violation; a failure prints each
violation with the elements it found. One browser serves the whole module.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals import services as appeal_services
from cases import links, services
from cases.business_days import london_today
from cases.models import Complaint
from tests.factories import AcknowledgedComplaintFactory, ComplaintFactory, business_days_from_today, lead
from tests.services import chromium_path, missing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_DIR = Path(__file__).parent / "vendor" / "axe-core-4.14.1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct horse battery staple"
BLOCKING = {"serious", "critical"}


def axe_source() -> str:
    """The vendored axe.min.js, checked against SHA256SUMS."""
    sums = dict(reversed(line.split()) for line in (AXE_DIR / "SHA256SUMS").read_text().splitlines())
    data = (AXE_DIR / "axe.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == sums["axe.min.js"], "axe.min.js does not match SHA256SUMS"
    return data.decode()


AXE = axe_source()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not chromium_path():
        missing("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    with pytest.MonkeyPatch.context() as mp:
        # Playwright's sync API runs an event loop in this thread; Django checks for that on database access.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    yield context.new_page()
    context.close()


class Audit:
    """Runs axe on pages and keeps the blocking violations of each, to report them all at once."""

    def __init__(self, page) -> None:
        self.page = page
        self.found: dict[str, list[dict]] = {}
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        page = self.page
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE)
        results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        self.checked.append(name)
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
        if blocking:
            self.found[f"{name} ({page.url})"] = blocking

    def report(self) -> str:
        lines = []
        for where, violations in self.found.items():
            lines.append(where)
            for v in violations:
                lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
                for node in v["nodes"]:
                    why = " ".join(node["failureSummary"].split())
                    lines.append(f"      {' '.join(map(str, node['target']))}: {why}")
        return "\n".join(lines)

    def assert_clean(self) -> None:
        assert not self.found, "serious or critical accessibility violations:\n" + self.report()


def go(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{url} answered {response.status}"


def test_axe_really_runs_in_the_page_despite_the_csp(live_server, page):
    go(page, live_server.url + "/")
    page.evaluate(AXE)
    assert page.evaluate("axe.version") == "4.14.1"
    results = page.evaluate("() => axe.run(document)")
    # It looked at the page: the form's fields passed the label rule.
    assert any(rule["id"] == "label" for rule in results["passes"])


def test_public_pages_have_no_serious_violations(live_server, page):
    audit = Audit(page)
    go(page, live_server.url + "/")
    audit.check("complaint form")

    page.get_by_role("button", name="Send my complaint").click()
    page.wait_for_selector("#error-summary")
    audit.check("complaint form with errors")

    page.fill("#id_name", "Ada Lovelace")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_incident_date", (london_today() - timedelta(days=2)).isoformat())
    page.fill("#id_description", "The engineer never arrived.")
    page.check("#id_privacy_ack")
    with page.expect_navigation():
        page.get_by_role("button", name="Send my complaint").click()
    page.wait_for_selector(".reference-number")
    audit.check("confirmation")

    go(page, live_server.url + "/procedure/")
    audit.check("procedure")
    go(page, live_server.url + "/privacy/")
    audit.check("privacy notice")

    assert len(audit.checked) == 5
    audit.assert_clean()


def _issued_upheld(worker) -> Complaint:
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    return services.complaint_issue_outcome(
        actor=worker,
        complaint=complaint,
        outcome="upheld",
        findings="The engineer was sent to an emergency call first and nobody told you.",
        actions=[
            services.ActionSpec(
                kind="put_right",
                description="Refund the call-out fee.",
                owner=worker,
                due_date=business_days_from_today(7),
            )
        ],
    )


def test_client_pages_have_no_serious_violations(live_server, page, settings):
    worker = lead()
    received = ComplaintFactory()
    waiting = AcknowledgedComplaintFactory(assignee=worker)
    waiting = services.complaint_start_investigation(actor=worker, complaint=waiting)
    services.complaint_request_information(actor=worker, complaint=waiting, message="Which site was affected?")
    responded = _issued_upheld(worker)
    appealed = _issued_upheld(worker)
    appeal_services.appeal_lodge(complaint=appealed, reasons="Nobody told me about the change of plan.")
    with time_machine.travel(timezone.now() - timedelta(days=settings.CLIENT_LINK_MAX_AGE_DAYS + 1)):
        expired = links.client_token(ComplaintFactory())

    def track(complaint, suffix=""):
        return f"{live_server.url}/track/{links.client_token(complaint)}/{suffix}"

    audit = Audit(page)
    go(page, track(received))
    audit.check("case page, received")
    go(page, track(waiting))
    audit.check("case page with the reply form")
    with page.expect_navigation():
        page.get_by_role("button", name="Send your answer").click()  # nothing typed
    page.wait_for_selector("#error-summary")
    audit.check("reply form with errors")
    go(page, track(responded))
    audit.check("case page, outcome issued")
    go(page, track(responded, "appeal/"))
    audit.check("appeal form")
    with page.expect_navigation():
        page.get_by_role("button", name="Send my appeal to the Director").click()  # no reasons
    page.wait_for_selector("#error-summary")
    audit.check("appeal form with errors")
    go(page, track(appealed))
    audit.check("case page, under appeal")
    page.goto(f"{live_server.url}/track/{expired}/")
    assert page.get_by_role("heading").first.is_visible()
    audit.check("expired link page")

    assert len(audit.checked) == 8
    audit.assert_clean()


def test_staff_pages_have_no_serious_violations(live_server, page, settings):
    settings.STAFF_REQUIRE_2FA = True
    user = lead()
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    investigating = AcknowledgedComplaintFactory(assignee=user)
    investigating = services.complaint_start_investigation(actor=user, complaint=investigating)
    _issued_upheld(user)  # an open action for the actions page

    audit = Audit(page)
    go(page, live_server.url + "/staff/login/")
    audit.check("sign-in")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/staff/two-factor/" in page.url
    audit.check("two-factor")
    page.fill("#id_token", f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + "/staff/"

    reference = investigating.reference
    for name, path, heading in [
        ("dashboard", "/staff/", "Complaints"),
        ("case page", f"/staff/complaints/{reference}/", reference),
        ("outcome page", f"/staff/complaints/{reference}/outcome/", f"Outcome of {reference}"),
        ("actions page", "/staff/actions/", "Actions"),
        ("log a complaint", "/staff/complaints/new/", "Log a complaint"),
        ("reports", "/staff/reports/", "Reports"),
    ]:
        go(page, live_server.url + path)
        assert page.locator("h1").first.inner_text() == heading
        audit.check(name)

    assert len(audit.checked) == 8
    audit.assert_clean()


def tab_to(page, element_id: str, limit: int = 60) -> None:
    """Press Tab until the element has the focus, as a keyboard user moves through the page."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never received the focus with Tab")


def test_the_public_form_can_be_completed_with_the_keyboard_alone(live_server, page):
    go(page, live_server.url + "/")
    # Day and month equal: a date field orders its parts by the browser's own locale, not the page's.
    incident = date(london_today().year - 1, 11, 11)

    tab_to(page, "id_name")
    page.keyboard.type("Grace Hopper")
    tab_to(page, "id_email")
    page.keyboard.type("grace@example.com")
    tab_to(page, "id_incident_date")
    page.keyboard.type(f"{incident:%d%m%Y}")  # the date field moves from part to part by itself
    assert page.input_value("#id_incident_date") == incident.isoformat()
    tab_to(page, "id_description")
    page.keyboard.type("Our line has been down since Monday.")
    tab_to(page, "id_privacy_ack")
    page.keyboard.press("Space")
    assert page.is_checked("#id_privacy_ack")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Send my complaint"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.wait_for_selector(".reference-number")
    complaint = Complaint.objects.get()
    assert page.locator(".reference-number").inner_text() == complaint.reference
    assert complaint.name == "Grace Hopper"
    assert complaint.incident_date == incident


PHONE = {"width": 390, "height": 844}
# Each word of the page's tables, as the browser laid it out: a word on more than one line was broken.
BROKEN_WORDS = """(selector) => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
        if (tops.size > 1 && match[0].length < 20) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


def test_the_directors_appeal_page_reads_on_a_phone(live_server, browser, settings):
    from tests.appeals.helpers import lodged
    from tests.factories import director
    from tests.services import screenshot_dir

    settings.STAFF_REQUIRE_2FA = True
    user = director()
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    appeal = lodged()
    context = browser.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/London", is_mobile=True)
    page = context.new_page()
    try:
        go(page, live_server.url + "/staff/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.fill("#id_token", f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == live_server.url + "/admin/appeals/appeal/"  # a Director lands on the appeals

        go(page, live_server.url + f"/admin/appeals/appeal/{appeal.pk}/change/")
        page.screenshot(path=screenshot_dir() / "director-appeal-phone.png", full_page=True)

        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.evaluate(BROKEN_WORDS, ".appeal-file table") == []
        outside = page.evaluate(
            """(width) => [...document.querySelectorAll('.decision-form input, .decision-form select,'
                + ' .decision-form textarea, .decision-form button')]
                .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().right > width)
                .map((el) => el.name || el.id || el.tagName)""",
            PHONE["width"],
        )
        assert outside == []
        audit = Audit(page)
        audit.check("the Director's appeal page on a phone")
        audit.assert_clean()
    finally:
        context.close()
