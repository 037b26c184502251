"""The outcome form: decision, findings, reasons and actions; preview; issuing once, against the right revision."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import business_days, services
from cases.models import Action, Complaint
from notifications.models import Letter, OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db

FINDINGS = "The engineer was sent to an emergency call first and nobody told you."
REASONS = "Our booking confirmation gave an afternoon window, and the engineer arrived within it."


def investigating(worker=None, **kwargs) -> Complaint:
    worker = worker or manager()
    complaint = AcknowledgedComplaintFactory(**kwargs)
    return services.complaint_start_investigation(actor=worker, complaint=complaint)


def in_days(n: int) -> dt.date:
    """N business days from today (an action's due date must be a business day)."""
    return business_days.add_business_days(business_days.london_today(), n)


def action(owner, *, kind="put_right", description="Refund the second call-out fee.", due=None) -> dict:
    return {"kind": kind, "description": description, "owner": owner.pk, "due_date": (due or in_days(7)).isoformat()}


def posted(complaint, *, outcome="upheld", findings=FINDINGS, reasons="", actions=(), rows=3, **extra) -> dict:
    """The outcome form as a browser posts it: every row, blank ones included."""
    data = {
        "outcome": outcome,
        "findings": findings,
        "reasons": reasons,
        "expected_revision": str(complaint.revision),
        "previewed": "",
        "actions-TOTAL_FORMS": str(max(rows, len(actions))),
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "20",
    }
    for index in range(max(rows, len(actions))):
        row = actions[index] if index < len(actions) else {}
        for name in ("kind", "description", "owner", "due_date"):
            data[f"actions-{index}-{name}"] = str(row.get(name, "") or "")
    data.update(extra)
    return data


def url(name: str, complaint) -> str:
    return reverse(f"staff:{name}", args=[complaint.reference])


def page_text(response) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def hidden_value(response, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', response.content.decode())
    return match.group(1) if match else ""


def preview(client, complaint, **kwargs):
    return client.post(url("outcome_preview", complaint), posted(complaint, **kwargs))


def preview_then_issue(client, complaint, **kwargs):
    """What a manager does: preview, then press "Issue outcome" on the previewed form."""
    shown = preview(client, complaint, **kwargs)
    assert shown.status_code == 200
    data = posted(complaint, previewed=hidden_value(shown, "previewed"), **kwargs)
    return client.post(url("outcome_issue", complaint), data)


@pytest.fixture
def worker(client):
    user = manager()
    client.force_login(user)
    return user


# --- the form --------------------------------------------------------------------------------


def test_outcome_form_has_the_decisions_three_blank_action_rows_and_the_case_revision(client, worker):
    complaint = investigating(worker)
    response = client.get(url("outcome", complaint))
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("Upheld", "Partially upheld", "Not upheld"):
        assert f"> {label}</label>" in body or f">{label}</label>" in body
    assert body.count('class="action-row') == 3
    assert 'name="actions-TOTAL_FORMS" value="3"' in body
    assert hidden_value(response, "expected_revision") == str(complaint.revision)
    assert "Required if the complaint is not upheld" in body
    assert worker.get_full_name() in html.unescape(body)  # owners to choose from (an O'Neill is escaped)


def test_add_another_action_shows_one_more_row_and_keeps_everything_typed(client, worker):
    complaint = investigating(worker)
    typed = [action(worker, description=f"Step number {n}") for n in range(1, 4)]
    response = client.post(url("outcome", complaint), posted(complaint, actions=typed))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="action-row') == 4
    assert 'name="actions-TOTAL_FORMS" value="4"' in body
    for n in range(1, 4):
        assert f"Step number {n}" in body
    assert FINDINGS in html.unescape(body)
    assert "There is a problem" not in body
    assert "There are problems" not in body
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING


def test_not_upheld_without_findings_or_reasons_shows_each_error_by_its_field_and_in_the_summary(client, worker):
    complaint = investigating(worker)
    response = preview(client, complaint, outcome="not_upheld", findings="  ", reasons="")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert 'id="error-summary"' in body
    assert '<a href="#id_findings">Write what the investigation found.</a>' in body
    assert '<a href="#id_reasons">When a complaint is not upheld, the letter must give the reasons.</a>' in body
    assert 'id="id_findings-error"' in body
    assert 'id="id_reasons-error"' in body
    assert 'aria-invalid="true"' in body
    assert 'id="letter-preview"' not in body


def test_missing_decision_is_reported_on_the_radio_group(client, worker):
    complaint = investigating(worker)
    body = preview(client, complaint, outcome="").content.decode()
    assert '<a href="#id_outcome_0">Choose upheld, partially upheld or not upheld.</a>' in body
    assert 'id="id_outcome-error"' in body


def test_upheld_without_actions_is_refused_at_the_actions(client, worker):
    complaint = investigating(worker)
    body = html.unescape(preview(client, complaint, outcome="upheld").content.decode())
    assert '<a href="#actions">An upheld complaint needs at least one action' in body
    assert 'id="actions-error"' in body
    assert not Action.objects.exists()


def test_an_incomplete_action_row_gets_its_error_on_that_row_with_the_page_number(client, worker):
    complaint = investigating(worker)
    rows = [{}, {"kind": "put_right", "description": "Refund the fee.", "due_date": in_days(5).isoformat()}]
    body = html.unescape(preview(client, complaint, actions=rows).content.decode())
    # The service counts filled rows ("Action 1"); the page says which row it is (the second).
    assert '<a href="#id_actions-1-owner">Action 2: give it an owner.</a>' in body
    assert 'id="id_actions-1-owner-error"' in body


def test_a_past_due_date_and_a_garbled_date_are_both_reported(client, worker):
    complaint = investigating(worker)
    rows = [action(worker, due=in_days(-3)), {**action(worker), "due_date": "31/02/2027"}]
    body = html.unescape(preview(client, complaint, actions=rows).content.decode())
    assert "Action 2: Enter a valid date." in body
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING


# --- preview ---------------------------------------------------------------------------------


def test_preview_shows_the_letter_on_the_page_and_saves_nothing(client, worker):
    complaint = investigating(worker)
    response = preview(client, complaint, outcome="partially_upheld", reasons=REASONS, actions=[action(worker)])
    assert response.status_code == 200
    text = page_text(response)
    assert 'id="letter-preview"' in response.content.decode()
    assert "Our response to your complaint" in text
    assert "Your complaint is partly upheld." in text
    assert FINDINGS in text
    assert REASONS in text
    assert "Refund the second call-out fee." in text
    assert complaint.reference in text
    assert "Issue outcome" in text
    assert "Download preview PDF" in text
    assert hidden_value(response, "previewed")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    assert not Letter.objects.exists()
    assert not OutboundMessage.objects.filter(kind="outcome_letter").exists()


def test_preview_pdf_is_an_inline_pdf_and_saves_nothing(client, worker):
    complaint = investigating(worker)
    response = client.post(
        url("outcome_preview_pdf", complaint), posted(complaint, outcome="not_upheld", reasons=REASONS)
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{complaint.reference}-outcome-PREVIEW.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")
    assert not Letter.objects.exists()


def test_preview_pdf_of_an_invalid_draft_shows_the_errors_instead(client, worker):
    complaint = investigating(worker)
    response = client.post(url("outcome_preview_pdf", complaint), posted(complaint, outcome="not_upheld"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "the letter must give the reasons" in response.content.decode()


# --- issuing ---------------------------------------------------------------------------------


def test_issuing_the_previewed_outcome_responds_and_goes_to_the_case_page(client, worker):
    complaint = investigating(worker)
    owner = manager()
    rows = [action(owner), action(worker, kind="prevent_recurrence", description="Call clients when late.")]
    response = preview_then_issue(client, complaint, actions=rows)
    assert response.status_code == 303
    assert response["Location"] == url("case", complaint)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RESPONDED
    assert complaint.outcome == Complaint.Outcome.UPHELD
    assert complaint.findings == FINDINGS
    assert list(complaint.actions.values_list("kind", "owner")) == [
        ("put_right", owner.pk),
        ("prevent_recurrence", worker.pk),
    ]
    assert complaint.letters.filter(kind="outcome").count() == 1
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any("Outcome issued for" in m and complaint.email in m for m in shown)


def test_issue_sends_only_the_draft_that_was_previewed(client, worker):
    complaint = investigating(worker)
    shown = preview(client, complaint, outcome="not_upheld", reasons=REASONS)
    changed = posted(
        complaint, outcome="not_upheld", reasons=REASONS + " Edited.", previewed=hidden_value(shown, "previewed")
    )
    response = client.post(url("outcome_issue", complaint), changed)
    assert response.status_code == 200
    text = page_text(response)
    assert "The letter has changed since you last previewed it" in text
    assert "Edited." in text  # the new preview, with the edit
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    # The page now carries the new draft's fingerprint: issuing it works.
    again = posted(
        complaint, outcome="not_upheld", reasons=REASONS + " Edited.", previewed=hidden_value(response, "previewed")
    )
    assert client.post(url("outcome_issue", complaint), again).status_code == 303


def test_a_change_by_someone_else_keeps_the_typing_and_says_so(client, worker):
    complaint = investigating(worker)
    opened_at = complaint.revision
    shown = preview(client, complaint, outcome="not_upheld", reasons=REASONS)
    services.complaint_add_note(actor=lead(), complaint=complaint, text="Checked the call log.")  # no revision bump
    services.complaint_categorise(actor=lead(), complaint=complaint, category=None)  # bumps the revision
    data = posted(complaint, outcome="not_upheld", reasons=REASONS, previewed=hidden_value(shown, "previewed"))
    data["expected_revision"] = str(opened_at)
    response = client.post(url("outcome_issue", complaint), data)
    assert response.status_code == 409
    text = page_text(response)
    assert "was changed by someone else while you were working on it" in text
    assert FINDINGS in text
    assert REASONS in text
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    assert not Letter.objects.exists()
    # The form now carries the case's new revision, and asks for a fresh preview.
    assert hidden_value(response, "expected_revision") == str(complaint.revision)
    assert hidden_value(response, "previewed") == ""
    assert preview_then_issue(client, complaint, outcome="not_upheld", reasons=REASONS).status_code == 303


def test_issuing_twice_from_two_tabs_gives_one_outcome_and_refuses_the_second(client, worker):
    complaint = investigating(worker)
    shown = preview(client, complaint, outcome="not_upheld", reasons=REASONS)
    data = posted(complaint, outcome="not_upheld", reasons=REASONS, previewed=hidden_value(shown, "previewed"))
    first = client.post(url("outcome_issue", complaint), data)
    second = client.post(url("outcome_issue", complaint), data)
    assert first.status_code == 303
    assert second.status_code == 409
    text = page_text(second)
    assert "Nothing was sent: this complaint is no longer under investigation." in text
    assert "was issued on" in text
    assert REASONS in text  # what the second tab typed is shown back
    assert Letter.objects.filter(complaint=complaint, kind="outcome").count() == 1
    assert OutboundMessage.objects.filter(complaint=complaint, kind="outcome_letter").count() == 1
    assert complaint.events.filter(kind="outcome_issued").count() == 1


def test_a_stale_second_tab_racing_the_first_is_refused_by_the_service(client, worker, monkeypatch):
    """The page was still "investigating" when loaded, but the outcome went out before the lock: StaleCase."""
    complaint = investigating(worker)
    shown = preview(client, complaint, outcome="not_upheld", reasons=REASONS)
    data = posted(complaint, outcome="not_upheld", reasons=REASONS, previewed=hidden_value(shown, "previewed"))
    real_issue = services.complaint_issue_outcome

    def colleague_first(**kwargs):
        real_issue(**{**kwargs, "actor": lead()})
        return real_issue(**kwargs)

    monkeypatch.setattr(services, "complaint_issue_outcome", colleague_first)
    response = client.post(url("outcome_issue", complaint), data)
    assert response.status_code == 409
    assert "no longer under investigation" in page_text(response)
    assert Letter.objects.filter(complaint=complaint).count() == 1


# --- who and when ----------------------------------------------------------------------------


def test_outcome_is_explained_not_offered_when_the_case_is_not_under_investigation(client, worker):
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    response = client.get(url("outcome", complaint))
    assert response.status_code == 200
    assert "start the investigation on the case page" in page_text(response)
    assert 'id="outcome-form"' not in response.content.decode()
    refused = client.post(url("outcome_issue", complaint), posted(complaint, outcome="not_upheld", reasons=REASONS))
    assert refused.status_code == 409
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED


@pytest.mark.parametrize("name", ["outcome", "outcome_preview", "outcome_preview_pdf", "outcome_issue"])
def test_someone_elses_case_is_404_on_every_outcome_url(client, name):
    complaint = investigating(manager())
    for user in (manager(), director()):
        client.force_login(user)
        assert client.get(url(name, complaint)).status_code in (404, 405)
        response = client.post(url(name, complaint), posted(complaint, outcome="not_upheld", reasons=REASONS))
        assert response.status_code == 404
        assert complaint.reference not in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING


def test_a_lead_may_issue_the_outcome_of_any_case(client):
    complaint = investigating(manager())
    client.force_login(lead())
    assert preview_then_issue(client, complaint, outcome="not_upheld", reasons=REASONS).status_code == 303


@pytest.mark.parametrize("name", ["outcome_preview", "outcome_preview_pdf", "outcome_issue"])
def test_preview_and_issue_refuse_get(client, worker, name):
    complaint = investigating(worker)
    assert client.get(url(name, complaint)).status_code == 405


def test_signed_out_visitors_are_sent_to_sign_in(client):
    complaint = investigating()
    response = client.get(url("outcome", complaint))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))


# --- in a real browser, without JavaScript -----------------------------------------------------

BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_manager_records_previews_and_issues_an_outcome_in_a_browser(live_server, monkeypatch, tmp_path, device):
    import os
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    shots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    worker = manager(username=f"sam-{device}", first_name="Sam", last_name="Okafor")
    colleague = manager(first_name="Priya", last_name="Shah")
    complaint = investigating(
        worker,
        name="Ada Lovelace",
        organisation="Analytical Engines Ltd",
        email="ada@example.com",
        description=(
            "Your engineer was booked for 9am on 2 November to replace our failed firewall. Nobody came and nobody "
            "called. He arrived at 3.40pm without the replacement unit, and we were invoiced for two visits."
        ),
    )
    due = in_days(14).isoformat()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS)
        page = chromium.new_context(
            viewport=WIDTHS[device], locale="en-GB", timezone_id="Europe/London", java_script_enabled=False
        ).new_page()
        page.goto(live_server.url + reverse("staff:login"))
        page.fill("#id_username", worker.username)
        page.fill("#id_password", "correct horse battery staple")
        with page.expect_navigation():
            page.click("button[type=submit]")

        page.goto(live_server.url + url("outcome", complaint))
        # Upheld, but no findings and an action without an owner: errors by the fields and in the summary.
        page.check("#id_outcome_0")
        page.select_option("#id_actions-0-kind", "put_right")
        page.fill("#id_actions-0-description", "Refund the second call-out fee of £180.")
        page.fill("#id_actions-0-due_date", due)
        with page.expect_navigation():
            page.get_by_role("button", name="Preview letter", exact=True).last.click()
        summary = page.locator("#error-summary")
        assert summary.is_visible()
        assert "Write what the investigation found." in summary.text_content()
        assert "Action 1: give it an owner." in summary.text_content()
        page.screenshot(path=shots / f"outcome-errors-{device}.png", full_page=True)

        # Correct them, add a second action; "Add another action" keeps everything and adds a row.
        page.fill("#id_findings", FINDINGS + "\n\nYour three calls that morning were logged but not passed on.")
        page.select_option("#id_actions-0-owner", str(colleague.pk))
        page.select_option("#id_actions-1-kind", "prevent_recurrence")
        page.select_option("#id_actions-1-owner", str(worker.pk))
        page.fill("#id_actions-1-due_date", due)
        page.fill(
            "#id_actions-1-description", "Call the client whenever an engineer will be more than 30 minutes late."
        )
        with page.expect_navigation():
            page.get_by_role("button", name="Add another action").click()
        assert page.locator(".action-row").count() == 4
        assert page.input_value("#id_actions-1-description").startswith("Call the client")
        page.screenshot(path=shots / f"outcome-two-actions-{device}.png", full_page=True)

        with page.expect_navigation():
            page.get_by_role("button", name="Preview letter", exact=True).last.click()
        preview_section = page.locator("#letter-preview")
        assert preview_section.is_visible()
        assert "Your complaint is upheld." in " ".join(preview_section.text_content().split())
        page.screenshot(path=shots / f"outcome-preview-{device}.png", full_page=True)

        with page.expect_navigation():
            page.get_by_role("button", name="Issue outcome").click()
        assert page.url.endswith(url("case", complaint))
        assert "Outcome issued for" in page.content()

        page.goto(live_server.url + reverse("staff:actions"))
        assert page.locator(".actions-list tbody tr").count() == 1  # Sam's own; Priya's is under "All"
        page.goto(live_server.url + reverse("staff:actions") + "?whose=all")
        assert page.locator(".actions-list tbody tr").count() == 2
        page.screenshot(path=shots / f"actions-{device}.png", full_page=True)
        chromium.close()
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RESPONDED
    assert complaint.actions.count() == 2


def test_an_action_due_on_a_bank_holiday_is_refused_with_the_reason():
    from cases.business_days import is_business_day

    worker = manager()
    # The first day after today that is not a business day (a weekend day at the latest).
    day = business_days.london_today() + dt.timedelta(days=1)
    while is_business_day(day):
        day += dt.timedelta(days=1)
    action_spec = services.ActionSpec(kind="put_right", description="Refund.", owner=worker, due_date=day)

    with pytest.raises(ValidationError) as refused:
        services.outcome_validate(outcome="upheld", findings="Late.", reasons="", actions=[action_spec])

    assert f"Action 1: {day:%A %-d %B %Y} is not a business day: choose a working day." in refused.value.messages
