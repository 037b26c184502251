"""The client's secure case page at /track/<token>/."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases import links
from cases.models import Attachment, Complaint
from notifications import services as notifications
from notifications.models import OutboundMessage
from tests.factories import (
    AcknowledgedComplaintFactory,
    AttachmentFactory,
    ComplaintEventFactory,
    ComplaintFactory,
    manager,
)

pytestmark = pytest.mark.django_db


def case_path(complaint) -> str:
    return reverse("client:case", args=[links.client_token(complaint)])


def fresh_link_path(token: str) -> str:
    return reverse("client:fresh_link", args=[token])


@pytest.fixture
def expired_token(settings):
    """A genuine link for a case, made long enough ago to have expired."""
    complaint = ComplaintFactory(email="ada.lovelace@example.com")
    with time_machine.travel(timezone.now() - timedelta(days=settings.CLIENT_LINK_MAX_AGE_DAYS + 1)):
        token = links.client_token(complaint)
    return complaint, token


def forged_token() -> str:
    return signing.dumps(["0" * 32, 1], salt="not.ours")


def assert_private(response, referrer_policy="no-referrer") -> None:
    assert response["Cache-Control"] == "no-store, private"
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Referrer-Policy"] == referrer_policy
    assert f'<meta name="referrer" content="{referrer_policy}">'.encode() in response.content


# --- a good link -----------------------------------------------------------------------------


def test_a_good_link_shows_the_case_in_plain_words(client):
    complaint = AcknowledgedComplaintFactory(
        description="The engineer never arrived.", desired_outcome="Refund the call-out fee."
    )
    response = client.get(case_path(complaint))
    page = response.content.decode()
    assert response.status_code == 200
    assert complaint.reference in page
    assert "Acknowledged" in page
    assert "a manager will investigate it" in page
    received = timezone.localtime(complaint.received_at)
    assert f"{received:%A} {received.day} {received:%B %Y}" in page
    assert f"{complaint.outcome_due:%A} {complaint.outcome_due.day} {complaint.outcome_due:%B %Y}" in page
    assert "The engineer never arrived." in page
    assert "Refund the call-out fee." in page


def test_a_received_case_shows_when_it_will_be_acknowledged(client):
    complaint = ComplaintFactory(acknowledgement_due=date(2026, 12, 30))
    page = client.get(case_path(complaint)).content.decode()
    assert "We will acknowledge it by" in page
    assert "Wednesday 30 December 2026" in page
    assert "written outcome is due" not in page


def test_the_outcome_date_shows_as_paused_while_we_wait_for_the_client(client):
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.AWAITING_CLIENT)
    page = client.get(case_path(complaint)).content.decode()
    assert "Waiting for your reply" in page
    assert "on hold while we wait for your reply" in page
    assert "written outcome is due by" not in page


def test_the_page_lists_the_clients_documents_by_name_only(client):
    complaint = ComplaintFactory()
    AttachmentFactory(complaint=complaint, original_name="invoice-0042.pdf")
    AttachmentFactory(complaint=complaint, original_name="staff-scan.pdf", source=Attachment.Source.STAFF)
    page = client.get(case_path(complaint)).content.decode()
    assert "invoice-0042.pdf" in page
    assert "staff-scan.pdf" not in page
    # No way into private storage from here.
    assert "complaints/" + str(complaint.public_id) not in page


def test_the_timeline_shows_client_visible_events_only_and_no_staff_names(client):
    complaint = ComplaintFactory()
    investigator = manager(first_name="Priya", last_name="Ramanathan")
    ComplaintEventFactory(complaint=complaint, summary="Complaint received through the website", actor_label="Client")
    ComplaintEventFactory(
        complaint=complaint,
        kind="acknowledged",
        summary="Complaint acknowledged by email",
        actor=investigator,
        actor_label="Priya Ramanathan",
        client_visible=True,
    )
    ComplaintEventFactory(
        complaint=complaint,
        kind="note_added",
        summary="Internal: client has complained before, handle with care",
        actor=investigator,
        actor_label="Priya Ramanathan",
        client_visible=False,
    )
    page = client.get(case_path(complaint)).content.decode()
    assert "Complaint received through the website" in page
    assert "Complaint acknowledged by email" in page
    assert "handle with care" not in page
    assert "Priya" not in page
    assert "Ramanathan" not in page
    assert "JPD IT Services" in page


def test_what_the_client_typed_is_escaped(client):
    complaint = ComplaintFactory(description='<script>alert("x")</script>', desired_outcome="<b>money</b>")
    page = client.get(case_path(complaint)).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;money&lt;/b&gt;" in page


def test_the_case_page_is_private(client):
    # An open case's page has the message form: "same-origin" lets it post (see test_client_reply.py).
    assert_private(client.get(case_path(ComplaintFactory())), referrer_policy="same-origin")


def test_a_closed_case_page_has_no_form_and_sends_no_referrer(client):
    closed = ComplaintFactory(status=Complaint.Status.CLOSED)
    response = client.get(case_path(closed))
    assert_private(response)
    assert b"Send us a message" not in response.content


def test_the_case_page_does_not_accept_posts(client):
    assert client.post(case_path(ComplaintFactory())).status_code == 405


# --- forged links ------------------------------------------------------------------------------


def test_a_forged_link_gets_a_404_that_reveals_nothing(client):
    complaint = ComplaintFactory()
    deleted = ComplaintFactory()
    deleted_path = case_path(deleted)
    deleted.delete()

    forged = client.get(reverse("client:case", args=[forged_token()]))
    garbage = client.get(reverse("client:case", args=["garbage"]))
    gone = client.get(deleted_path)

    assert forged.status_code == garbage.status_code == gone.status_code == 404
    # The same page whether or not a case ever existed.
    assert forged.content == garbage.content == gone.content
    page = forged.content.decode()
    assert complaint.reference not in page
    assert "expired" not in page
    assert "Email me a new link" not in page
    assert_private(forged)


# --- expired or revoked links --------------------------------------------------------------------


def test_an_expired_link_offers_one_button_to_email_a_new_link(client, expired_token):
    complaint, token = expired_token
    response = client.get(reverse("client:case", args=[token]))
    page = response.content.decode()
    # 410 Gone: this address will never show the case again (see the view).
    assert response.status_code == 410
    assert "This link has expired" in page
    assert page.count("<form") == 1
    assert 'method="post"' in page
    assert f'action="{fresh_link_path(token)}"' in page
    assert "csrfmiddlewaretoken" in page
    assert "Email me a new link" in page
    # Nothing about the case until the owner opens the new link.
    assert complaint.reference not in page
    assert complaint.email not in page
    assert complaint.description not in page
    # Its form must send a real Origin (see FORM_REFERRER_POLICY); nothing goes to other sites.
    assert_private(response, referrer_policy="same-origin")


def test_a_revoked_link_is_treated_as_expired(client):
    complaint = ComplaintFactory()
    path = case_path(complaint)
    Complaint.objects.filter(pk=complaint.pk).update(client_link_version=2)
    response = client.get(path)
    assert response.status_code == 410
    assert "Email me a new link" in response.content.decode()


def test_asking_for_a_new_link_emails_the_address_on_the_case_and_shows_it_masked(client, expired_token):
    complaint, token = expired_token
    response = client.post(fresh_link_path(token), {"email": "attacker@example.net"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "a***@example.com" in page
    assert "ada.lovelace@example.com" not in page
    assert "attacker" not in page
    message = OutboundMessage.objects.get(complaint=complaint, kind="client_link")
    assert message.to_email == "ada.lovelace@example.com"
    assert_private(response)


def test_the_new_link_arrives_and_opens_the_case(client, expired_token):
    complaint, token = expired_token
    client.post(fresh_link_path(token))
    message = OutboundMessage.objects.get(complaint=complaint, kind="client_link")
    assert notifications.message_deliver(message.pk) == "sent"

    (email,) = mail.outbox
    new_path = email.body.split("http://testserver", 1)[1].split()[0]
    response = client.get(new_path)
    assert response.status_code == 200
    assert complaint.reference in response.content.decode()


def test_asking_again_within_minutes_sends_no_second_email(client, expired_token):
    complaint, token = expired_token
    client.post(fresh_link_path(token))
    notifications.message_deliver(OutboundMessage.objects.get(complaint=complaint).pk)

    response = client.post(fresh_link_path(token))

    assert OutboundMessage.objects.filter(complaint=complaint, kind="client_link").count() == 1
    assert "a few minutes ago" in response.content.decode()


def test_a_case_without_an_email_address_is_asked_to_contact_us(client):
    complaint = ComplaintFactory(email="")
    path = case_path(complaint)
    Complaint.objects.filter(pk=complaint.pk).update(client_link_version=2)
    token = path.split("/")[2]
    page = client.post(fresh_link_path(token)).content.decode()
    assert "do not have an email address" in page
    assert not OutboundMessage.objects.exists()


def test_a_new_link_cannot_be_requested_for_a_forged_token(client):
    response = client.post(fresh_link_path(forged_token()))
    assert response.status_code == 404
    assert not OutboundMessage.objects.exists()


def test_a_good_link_posting_for_a_new_link_just_goes_to_the_case(client):
    complaint = ComplaintFactory()
    token = links.client_token(complaint)
    response = client.post(fresh_link_path(token))
    assert response.status_code == 302
    assert response["Location"] == reverse("client:case", args=[token])
    assert not OutboundMessage.objects.exists()


def test_the_new_link_form_passes_the_csrf_check_as_a_browser_sends_it(expired_token):
    complaint, token = expired_token
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(reverse("client:case", args=[token]))
    csrf = page.context["csrf_token"]

    # What a browser sends under "no-referrer": Django's CSRF check refuses it,
    # which is why the expired page uses "same-origin".
    refused = strict.post(fresh_link_path(token), {"csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="null")
    assert refused.status_code == 403
    # What a browser sends under "same-origin".
    accepted = strict.post(fresh_link_path(token), {"csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="http://testserver")
    assert accepted.status_code == 200
    assert OutboundMessage.objects.filter(complaint=complaint).count() == 1


def test_asking_for_a_new_link_needs_a_post_with_a_csrf_token(expired_token):
    _complaint, token = expired_token
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(fresh_link_path(token)).status_code == 405
    assert strict.post(fresh_link_path(token)).status_code == 403
    assert not OutboundMessage.objects.exists()


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_a_real_browser_opens_the_case_and_gets_a_new_link_for_an_expired_one(live_server, monkeypatch, settings):
    """Only a browser applies the referrer policy to the form's Origin; screenshots at phone width."""
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    # Playwright's sync API runs an event loop in this thread; the live server's database is a real one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    out = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    complaint = AcknowledgedComplaintFactory(email="ada.lovelace@example.com")
    AttachmentFactory(complaint=complaint, original_name="invoice-0042.pdf")
    ComplaintEventFactory(complaint=complaint, summary="Complaint received through the website")
    good = live_server.url + case_path(complaint)
    with time_machine.travel(timezone.now() - timedelta(days=settings.CLIENT_LINK_MAX_AGE_DAYS + 1)):
        expired = live_server.url + reverse("client:case", args=[links.client_token(complaint)])

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 390, "height": 844})
        assert page.goto(good).status == 200
        assert page.locator("h1").inner_text() == complaint.reference
        page.screenshot(path=out / "client-case-phone.png", full_page=True)

        assert page.goto(expired).status == 410
        page.screenshot(path=out / "client-link-expired-phone.png", full_page=True)
        page.get_by_role("button", name="Email me a new link").click()
        page.wait_for_load_state()
        heading = page.locator("h1").inner_text()
        body = page.locator("main").inner_text()
        page.screenshot(path=out / "client-link-sent-phone.png", full_page=True)
        browser.close()

    assert heading == "Check your email"
    assert "a***@example.com" in body
    assert OutboundMessage.objects.filter(complaint=complaint, kind="client_link").count() == 1


def test_the_client_page_says_how_far_away_each_due_date_is(client):
    from cases import business_days
    from tests.factories import AcknowledgedComplaintFactory

    complaint = AcknowledgedComplaintFactory(status="investigating")
    Complaint.objects.filter(pk=complaint.pk).update(
        outcome_due=business_days.add_business_days(business_days.london_today(), 3)
    )
    complaint.refresh_from_db()

    body = client.get(reverse("client:case", args=[links.client_token(complaint)])).content.decode()

    assert "(due in 3 business days)" in body
