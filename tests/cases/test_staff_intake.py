"""A complaints lead logs a complaint received by phone, email, letter or in person (issue 2, item 8)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Attachment, Complaint
from notifications.models import Letter, OutboundMessage
from tests.factories import director, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
LOG_URL = reverse("staff:complaint_log")
# Friday 27 November 2026, 10:00 in London: "yesterday" is Thursday 26 November.
NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=LONDON)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def form_data(**overrides):
    data = {
        "channel": Complaint.Channel.PHONE,
        "received_at": "2026-11-26T16:00",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "01494 123456",
        "organisation": "",
        "preferred_contact": Complaint.ContactMethod.EMAIL,
        "postal_address": "",
        "incident_date": "2026-11-20",
        "description": "The engineer did not turn up for the agreed visit, twice.",
        "desired_outcome": "An apology and a new date.",
    }
    data.update(overrides)
    return data


def without_email(**overrides):
    values = {
        "email": "",
        "preferred_contact": Complaint.ContactMethod.POST,
        "postal_address": "1 High Street\nMarlow\nSL7 1AA",
        **overrides,
    }
    return form_data(**values)


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def lead_client(client):
    # Tests that freeze the clock ask for ``frozen_now`` first, so the session is made at the frozen time.
    user = lead(first_name="Lena", last_name="Lead")
    client.force_login(user)
    client.user = user
    return client


# --- the page --------------------------------------------------------------------------


def test_lead_gets_the_form_with_channel_and_time_of_receipt(lead_client):
    response = lead_client.get(LOG_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="channel"' in page
    assert 'type="datetime-local"' in page
    assert 'name="received_at"' in page
    assert 'name="description"' in page
    assert 'enctype="multipart/form-data"' in page
    # The web channel is for the public form only.
    assert 'value="web"' not in page
    # Worded for staff typing someone else's details, not the public form's "you".
    assert "Complainant&#x27;s full name" in page
    assert "Your complaint" not in page


@pytest.mark.parametrize("role", [manager, director])
def test_other_staff_get_403_on_the_page_and_the_post(client, role):
    client.force_login(role())
    assert client.get(LOG_URL).status_code == 403
    assert client.post(LOG_URL, form_data()).status_code == 403
    assert not Complaint.objects.exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(LOG_URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('staff:login')}?next={LOG_URL}"
    assert client.post(LOG_URL, form_data()).status_code == 302
    assert not Complaint.objects.exists()


# --- deadlines from the real time of receipt -----------------------------------------


@pytest.mark.parametrize(
    ("received", "acknowledgement_due", "counts_from"),
    [
        # Thursday before the 17:30 close: counts from Thursday → 2nd business day is Monday 30 Nov.
        ("2026-11-26T16:00", dt.date(2026, 11, 30), None),
        # Thursday after the close: counts from Friday → Tuesday 1 Dec.
        ("2026-11-26T17:45", dt.date(2026, 12, 1), "Friday 27 November 2026"),
    ],
)
def test_phone_complaint_received_yesterday_runs_its_deadlines_from_then(
    frozen_now, lead_client, received, acknowledgement_due, counts_from
):
    response = lead_client.post(LOG_URL, form_data(received_at=received))
    complaint = Complaint.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("staff:complaint_logged", args=[complaint.reference]) + "#main"
    assert complaint.channel == Complaint.Channel.PHONE
    assert complaint.received_at == dt.datetime.fromisoformat(received).replace(tzinfo=LONDON)
    assert complaint.acknowledgement_due == acknowledgement_due
    assert complaint.logged_by == lead_client.user
    assert complaint.status == Complaint.Status.RECEIVED

    page = text_of(lead_client.get(response["Location"]))
    assert complaint.reference in page
    assert f"{acknowledgement_due:%A} {acknowledgement_due.day} {acknowledgement_due:%B %Y}" in page
    if counts_from:
        assert f"Counts as received on {counts_from}" in page
    else:
        assert "Counts as received on" not in page


@pytest.mark.parametrize(
    ("typed", "stored_utc"),
    [
        # 01:30 happens twice when the clocks go back (25 October 2026): the first, British Summer Time, is meant.
        ("2026-10-25T01:30", dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
        # 01:30 does not exist when they go forward (28 March 2027): read on the clock before the change.
        ("2027-03-28T01:30", dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC)),
    ],
    ids=["clocks-back", "clocks-forward"],
)
def test_a_time_of_receipt_in_the_hour_the_clocks_change_is_logged_on_its_london_date(client, typed, stored_utc):
    with time_machine.travel(dt.datetime(2027, 3, 29, 10, 0, tzinfo=LONDON), tick=False):
        client.force_login(lead())
        response = client.post(LOG_URL, form_data(received_at=typed))

    assert response.status_code == 303, response.content.decode()[:3000]
    complaint = Complaint.objects.get()
    assert complaint.received_at == stored_utc
    assert complaint.received_at.astimezone(LONDON).date() == dt.date.fromisoformat(typed[:10])


def test_received_at_in_the_future_is_refused_next_to_the_field(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, form_data(received_at="2026-11-27T10:30"))
    assert response.status_code == 200
    assert response.context["form"].errors["received_at"] == ["The time of receipt cannot be in the future."]
    assert "The time of receipt cannot be in the future." in response.content.decode()
    assert not Complaint.objects.exists()


def test_missing_channel_and_details_are_each_reported(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, form_data(channel="", name="", description=""))
    errors = response.context["form"].errors
    assert set(errors) >= {"channel", "name", "description"}
    assert not Complaint.objects.exists()


def test_web_channel_cannot_be_chosen_by_staff(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, form_data(channel=Complaint.Channel.WEB))
    assert "channel" in response.context["form"].errors
    assert not Complaint.objects.exists()


# --- acknowledging by email or by letter ---------------------------------------------


def test_with_email_one_acknowledgement_is_queued_and_no_letter(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, form_data())
    complaint = Complaint.objects.get()
    message = OutboundMessage.objects.get()
    assert message.complaint == complaint
    assert message.kind == "complaint_acknowledgement"
    assert message.to_email == "ada@example.com"
    assert not Letter.objects.exists()
    page = text_of(lead_client.get(response["Location"]))
    assert "Acknowledgement emailed to ada@example.com" in page
    assert "Download acknowledgement letter" not in page


def test_without_email_a_letter_is_made_and_the_complaint_acknowledged(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, without_email(channel=Complaint.Channel.LETTER))
    complaint = Complaint.objects.get()
    letter = Letter.objects.get()
    assert not OutboundMessage.objects.exists()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.acknowledged_at == NOW
    # Ten business days after Friday 27 November 2026.
    assert complaint.outcome_due == dt.date(2026, 12, 11)

    page = lead_client.get(response["Location"]).content.decode()
    download = reverse("staff:letter_download", args=[complaint.reference, letter.pk])
    assert download in page
    assert "Download acknowledgement letter (PDF)" in page
    assert "Friday 11 December 2026" in page

    pdf = lead_client.get(download)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert pdf["Content-Disposition"].startswith(f'attachment; filename="{complaint.reference}-')
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_without_email_or_address_the_form_asks_for_an_address(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, without_email(postal_address=""))
    assert "postal_address" in response.context["form"].errors
    assert not Complaint.objects.exists()


def test_letter_and_logged_page_are_closed_to_other_staff_and_anonymous(frozen_now, client):
    user = lead()
    client.force_login(user)
    client.post(LOG_URL, without_email())
    complaint = Complaint.objects.get()
    letter = Letter.objects.get()
    download = reverse("staff:letter_download", args=[complaint.reference, letter.pk])
    logged = reverse("staff:complaint_logged", args=[complaint.reference])
    Complaint.objects.filter(pk=complaint.pk).update(assignee=manager())

    client.force_login(manager())  # not the assignee: the case does not exist for them
    assert client.get(download).status_code == 404
    assert client.get(logged).status_code == 403

    client.logout()
    assert client.get(download)["Location"].startswith(reverse("staff:login"))
    assert client.get(logged)["Location"].startswith(reverse("staff:login"))


def test_logged_page_for_an_unknown_reference_is_404(lead_client):
    assert lead_client.get(reverse("staff:complaint_logged", args=["JPD-2026-99999-A"])).status_code == 404


def test_a_scanned_letter_is_kept_as_a_staff_attachment(frozen_now, lead_client):
    scan = SimpleUploadedFile(
        "letter.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n", content_type="application/pdf"
    )
    response = lead_client.post(
        LOG_URL, {**form_data(channel=Complaint.Channel.LETTER), "documents": [scan]}, format="multipart"
    )
    assert response.status_code == 303, response.content.decode()[:3000]
    attachment = Attachment.objects.get()
    assert attachment.original_name == "letter.pdf"
    assert attachment.source == Attachment.Source.STAFF
    assert attachment.uploaded_by == lead_client.user


def test_client_text_is_escaped_on_the_logged_page(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, form_data(name="<img src=x onerror=alert(1)>"))
    page = lead_client.get(response["Location"]).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page


# --- screenshots -------------------------------------------------------------------------


@pytest.mark.browser
def test_staff_pages_screenshots(live_server, monkeypatch):
    """Sign in, look at the home page, log a complaint without email; screenshots at desktop and phone width."""
    from playwright.sync_api import sync_playwright

    from tests.factories import ComplaintFactory, UserFactory
    from tests.services import VIEWPORTS, launch_chromium, screenshot_dir, sign_in_staff

    # Playwright's sync API runs an event loop in this thread; the live server's database is a real one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    out = screenshot_dir()
    UserFactory(username="lena", first_name="Lena", last_name="Lead", groups=["Complaints leads"])
    ComplaintFactory.create_batch(4)

    with sync_playwright() as p:
        browser = launch_chromium(p)
        for label, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            page.goto(f"{live_server.url}{reverse('staff:login')}")
            page.screenshot(path=out / f"staff-login-{label}.png", full_page=True)
            sign_in_staff(page, live_server.url, "lena")
            page.screenshot(path=out / f"staff-home-{label}.png", full_page=True)
            page.click("text=Log a complaint >> nth=-1")
            page.wait_for_url(f"{live_server.url}{LOG_URL}")
            page.screenshot(path=out / f"staff-log-{label}.png", full_page=True)
            page.check("input[name=channel][value=letter]")
            page.check("input[name=preferred_contact][value=post]")
            page.fill("#id_name", f"Margaret {label.title()}")
            page.fill("#id_postal_address", "1 High Street\nMarlow\nSL7 1AA")
            page.fill("#id_description", "Two missed appointments and no call back.")
            page.click("form#complaint-log-form button[type=submit]")
            page.wait_for_selector("text=Complaint logged")
            page.screenshot(path=out / f"staff-logged-{label}.png", full_page=True)
            assert page.locator("text=Download acknowledgement letter (PDF)").count() == 1
            page.close()
        # Five wrong passwords: the sixth attempt gets the locked-out page.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for attempt in range(6):
            page.goto(f"{live_server.url}{reverse('staff:login')}")
            page.fill("#id_username", "lena")
            page.fill("#id_password", f"wrong password {attempt}")
            page.click("button[type=submit]")
            page.wait_for_load_state()
        assert page.locator("text=Sign-in temporarily locked").count() == 1
        page.screenshot(path=out / "staff-locked-out-desktop.png", full_page=True)
        page.close()
        browser.close()
    assert Complaint.objects.filter(status=Complaint.Status.ACKNOWLEDGED).count() == 2


def test_a_complaint_logged_after_its_acknowledgement_was_due_is_flagged_late(frozen_now, lead_client):
    # Received by letter on Friday 20 November: acknowledgement due Tuesday 24th; logged Friday 27th.
    response = lead_client.post(
        LOG_URL, without_email(channel=Complaint.Channel.LETTER, received_at="2026-11-20T11:00")
    )
    complaint = Complaint.objects.get()
    assert complaint.acknowledgement_due == dt.date(2026, 11, 24)
    assert complaint.acknowledgement_late_by == 3  # Wednesday, Thursday, Friday

    confirmation = text_of(lead_client.get(response["Location"]))
    assert "so it is acknowledged late by 3 business days" in confirmation
    case_page = text_of(lead_client.get(reverse("staff:case", args=[complaint.reference])))
    assert "acknowledged late by 3 business days" in case_page


def test_a_complaint_logged_in_time_is_not_flagged(frozen_now, lead_client):
    response = lead_client.post(LOG_URL, form_data(received_at="2026-11-26T16:00"))
    complaint = Complaint.objects.get()
    assert complaint.acknowledgement_late_by == 0
    assert "acknowledged late" not in text_of(lead_client.get(response["Location"]))
