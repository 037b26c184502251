"""The outcome letter (PDF and on screen), its email, and the client's download of it."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import reverse

from cases import links, services
from cases.models import Action, Complaint
from notifications.models import Letter, OutboundMessage
from notifications.rendering import base_context
from notifications.services import message_deliver
from tests.factories import AcknowledgedComplaintFactory, UserFactory, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# Tue 17 Nov 2026, 15:00 in London: 20 business days on is Tue 15 Dec 2026.
ISSUED = dt.datetime(2026, 11, 17, 15, 0, tzinfo=LONDON)
FINDINGS = "We checked the job record and the call log.\n\nThe engineer was sent elsewhere first."
REASONS = "The booking confirmation gave an afternoon window, and the engineer arrived within it."


def complaint_built(**kwargs) -> Complaint:
    values = {
        "reference": "JPD-2026-00042-K",
        "name": "Ada Lovelace",
        "received_at": dt.datetime(2026, 11, 3, 10, 0, tzinfo=LONDON),
        "description": "Nobody came to replace the firewall on 2 November.",
        **kwargs,
    }
    return AcknowledgedComplaintFactory.build(**values)


def letter_context(complaint, *, outcome="upheld", reasons="", actions=(), is_preview=False) -> dict:
    context = services.outcome_letter_context(
        complaint=complaint, outcome=outcome, findings=FINDINGS, reasons=reasons, actions=actions, issued_at=ISSUED
    )
    return {**base_context(), **context, "is_preview": is_preview}


def letter_text(complaint, **kwargs) -> str:
    rendered = render_to_string("letters/outcome.html", letter_context(complaint, **kwargs))
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", rendered).split()))


def specs(owner):
    return [
        services.ActionSpec(
            "prevent_recurrence", "Call clients whenever an engineer is late.", owner, dt.date(2026, 12, 15)
        ),
        services.ActionSpec("put_right", "Refund the second call-out fee.", owner, dt.date(2026, 11, 24)),
    ]


# --- what the letter says -------------------------------------------------------------------


def test_upheld_letter_gives_reference_dates_findings_decision_and_actions_put_right_first():
    owner = UserFactory.build(first_name="Priya", last_name="Shah")
    text = letter_text(complaint_built(), actions=specs(owner))
    assert "JPD-2026-00042-K" in text
    assert "17 November 2026" in text  # the letter's date
    assert "the complaint you made to us on 3 November 2026" in text
    assert "Nobody came to replace the firewall on 2 November." in text
    assert "We checked the job record and the call log." in text
    assert "Your complaint is upheld." in text
    put_right = text.index("Putting things right")
    prevent = text.index("Preventing it happening again")
    assert put_right < text.index("Refund the second call-out fee.") < prevent
    assert prevent < text.index("Call clients whenever an engineer is late.")
    assert "Priya Shah 24 November 2026" in text
    assert "Priya Shah 15 December 2026" in text


def test_letter_lists_saved_actions_the_same_way_as_drafts():
    owner = manager(first_name="Sam", last_name="Okafor")
    complaint = AcknowledgedComplaintFactory(received_at=ISSUED - dt.timedelta(days=10))
    saved = [
        Action.objects.create(
            complaint=complaint, kind=s.kind, description=s.description, owner=owner, due_date=s.due_date
        )
        for s in specs(owner)
    ]
    assert letter_text(complaint, actions=saved) == letter_text(complaint, actions=specs(owner))


def test_not_upheld_letter_gives_the_reasons_and_no_actions():
    text = letter_text(complaint_built(), outcome="not_upheld", reasons=REASONS)
    assert "Your complaint is not upheld." in text
    assert "Why we have reached this decision " + REASONS in text
    assert "What we will do" not in text


def test_partly_upheld_letter_says_so_and_gives_its_reasons():
    owner = UserFactory.build(first_name="Sam", last_name="Okafor")
    text = letter_text(complaint_built(), outcome="partially_upheld", reasons=REASONS, actions=specs(owner)[:1])
    assert "Your complaint is partly upheld." in text
    assert "The reasons for our decision " + REASONS in text
    assert "Preventing it happening again" in text
    assert "Putting things right" not in text


@override_settings(APPEAL_WINDOW_DAYS=20, APPEAL_ACKNOWLEDGEMENT_DAYS=2, APPEAL_DECISION_DAYS=15)
def test_letter_says_how_to_appeal_to_the_director_by_when_and_what_happens_next():
    text = letter_text(complaint_built(), outcome="not_upheld", reasons=REASONS)
    assert "how to appeal" in text
    assert "write to the Director by Tuesday 15 December 2026 , that is within 20 business days" in text
    assert "appeals@jpditservices.com" in text
    assert "The Director, JPD IT Services Ltd, G02 Terriers House, Amersham Road, High Wycombe, Bucks HP13 5AJ" in text
    assert "our reference, JPD-2026-00042-K" in text
    assert "the details of your original complaint" in text
    assert "the response you received from us" in text
    assert "the reasons you disagree with our decision" in text
    assert "acknowledge your appeal within 2 business days" in text
    assert "final decision within 15 business days" in text
    assert "The Director's decision will be final" in text


@override_settings(APPEAL_WINDOW_DAYS=10)
def test_appeal_window_comes_from_the_settings():
    text = letter_text(complaint_built(), outcome="not_upheld", reasons=REASONS)
    assert "by Tuesday 1 December 2026 , that is within 10 business days" in text


def test_preview_is_marked_and_the_real_letter_is_not():
    complaint = complaint_built()
    assert "PREVIEW — not sent" in letter_text(complaint, outcome="not_upheld", reasons=REASONS, is_preview=True)
    assert "PREVIEW" not in letter_text(complaint, outcome="not_upheld", reasons=REASONS)


def test_letter_is_signed_by_the_investigating_manager():
    signatory = UserFactory.build(first_name="Sam", last_name="Okafor")
    text = letter_text(complaint_built(assignee=signatory), outcome="not_upheld", reasons=REASONS)
    assert "Yours sincerely, Sam Okafor Investigating manager" in text


def test_a_long_complaint_is_quoted_in_part_and_says_so():
    text = letter_text(complaint_built(description="word " * 400), outcome="not_upheld", reasons=REASONS)
    assert "We have quoted the beginning of your complaint" in text
    assert text.count("word") < 200


def test_letter_escapes_everything_typed():
    complaint = complaint_built(name="<b>Eve</b>", description="<script>x()</script>")
    rendered = render_to_string(
        "letters/outcome.html", letter_context(complaint, outcome="not_upheld", reasons="<i>no</i>")
    )
    assert "<script>" not in rendered
    assert "<b>Eve</b>" not in rendered
    assert "<i>no</i>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert "&lt;i&gt;no&lt;/i&gt;" in rendered


# --- issuing: the PDF, the email, the client's download ------------------------------------------


def issue(complaint, actor, **kwargs):
    values = {"outcome": "not_upheld", "findings": FINDINGS, "reasons": REASONS, **kwargs}
    return services.complaint_issue_outcome(actor=actor, complaint=complaint, **values)


def investigating(worker, **kwargs):
    return services.complaint_start_investigation(
        actor=worker, complaint=AcknowledgedComplaintFactory(assignee=worker, **kwargs)
    )


@time_machine.travel(ISSUED, tick=False)
def test_issuing_queues_one_email_with_the_letter_attached_as_a_pdf():
    worker = manager()
    complaint = issue(investigating(worker, received_at=ISSUED - dt.timedelta(days=7)), worker)
    queued = OutboundMessage.objects.filter(complaint=complaint)
    outcome_messages = queued.filter(kind="outcome_letter")
    assert outcome_messages.count() == 1
    message = outcome_messages.get()
    assert message.to_email == complaint.email
    mail.outbox.clear()
    assert message_deliver(message.pk) == "sent"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert complaint.reference in sent.subject
    assert sent.to == [complaint.email]
    [(name, content, mimetype)] = sent.attachments
    assert name == f"{complaint.reference}-outcome.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    letter = complaint.letters.get(kind="outcome")
    with letter.file.open("rb") as stored:
        assert stored.read() == content


@time_machine.travel(ISSUED, tick=False)
def test_outcome_email_gives_decision_tracking_link_and_how_to_appeal_in_both_bodies():
    worker = manager()
    complaint = issue(investigating(worker, received_at=ISSUED - dt.timedelta(days=7)), worker)
    message = OutboundMessage.objects.get(complaint=complaint, kind="outcome_letter")
    message_deliver(message.pk)
    sent = mail.outbox[-1]
    html_body = sent.alternatives[0][0]
    html_text = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", html_body).split()))
    tracking = links.client_url(complaint)
    for body in (sent.body, html_text):
        assert complaint.reference in body
        assert "your complaint is not upheld" in body
        assert "attached to this email as a PDF" in body
        assert "appeals@jpditservices.com" in body
        assert "Tuesday 15 December 2026" in body
        assert "The Director's decision will be final." in body
    assert tracking in sent.body
    assert f'href="{tracking}"' in html_body


def client_download_url(token, letter) -> str:
    return reverse("client:letter_download", args=[token, letter.pk])


def test_client_downloads_the_outcome_letter_from_their_page():
    worker = manager()
    complaint = issue(investigating(worker), worker)
    letter = complaint.letters.get(kind="outcome")
    browser = Client()
    # One token for the page and the link: a token made a second later differs (it is timestamped).
    token = links.client_token(complaint)
    page = browser.get(reverse("client:case", args=[token]))
    assert page.status_code == 200
    link = client_download_url(token, letter)
    assert link in page.content.decode()
    assert "Outcome letter" in page.content.decode()
    response = browser.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{complaint.reference}-outcome.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_another_cases_token_cannot_download_the_letter(client):
    worker = manager()
    complaint = issue(investigating(worker), worker)
    letter = complaint.letters.get(kind="outcome")
    other = AcknowledgedComplaintFactory()
    response = client.get(reverse("client:letter_download", args=[links.client_token(other), letter.pk]))
    assert response.status_code == 404
    assert complaint.reference not in response.content.decode()
    forged = client.get(reverse("client:letter_download", args=["not-a-token", letter.pk]))
    assert forged.status_code == 404


def test_letters_not_meant_for_the_client_are_not_offered_or_served(client):
    worker = manager()
    complaint = issue(investigating(worker), worker)
    letter = complaint.letters.get(kind="outcome")
    Letter.objects.filter(pk=letter.pk).update(client_visible=False)
    token = links.client_token(complaint)
    page = client.get(reverse("client:case", args=[token]))
    assert "/letters/" not in page.content.decode()
    assert client.get(client_download_url(token, letter)).status_code == 404
