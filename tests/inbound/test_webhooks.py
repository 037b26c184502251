"""A mail provider's inbound webhook (django-anymail; inbound/webhooks.py): what it posts is stored and read once.

Postmark's inbound webhook, whose only protection is HTTP basic auth (ANYMAIL_WEBHOOK_SECRET), with the
payloads it posts: with the raw message (RawEmail) or only the parsed fields.
"""

from __future__ import annotations

import base64
import importlib
import json

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches

from cases.models import Complaint
from inbound import services
from inbound.models import InboundEmail
from tests.inbound import mail

pytestmark = pytest.mark.django_db

SECRET = "postmark:a-long-random-webhook-password"
URL = "/anymail/postmark/inbound/"


def reload_urls() -> None:
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()


@pytest.fixture
def webhook():
    """The site with ANYMAIL_WEBHOOK_SECRET set (the URLconf reads it when loaded)."""
    with override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET}):
        reload_urls()
        yield
    reload_urls()


def postmark(raw: bytes | None = None, *, to: str = mail.COMPLAINTS, original_recipient: str | None = None) -> dict:
    payload = {
        "FromName": "Ada Lovelace",
        "From": "ada@example.com",
        "FromFull": {"Email": "ada@example.com", "Name": "Ada Lovelace"},
        "To": to,
        "ToFull": [{"Email": address.strip(), "Name": ""} for address in to.split(",")],
        # The address it was delivered to ("" for a provider that does not say).
        "OriginalRecipient": to.split(",")[0].strip() if original_recipient is None else original_recipient,
        "Subject": "The firewall is still broken",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Tue, 1 Dec 2026 09:00:00 +0000",
        "TextBody": "Your engineer did not come on Tuesday, nor on Thursday.",
        "HtmlBody": "",
        "Headers": [
            {"Name": "Return-Path", "Value": "<ada@example.com>"},
            {"Name": "Message-ID", "Value": "<CAF1234567890@mail.example.com>"},
        ],
        "Attachments": [],
    }
    if raw is not None:
        payload["RawEmail"] = raw.decode()
    return payload


def post(client, payload: dict, credentials: str = SECRET):
    return client.post(
        URL,
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(credentials.encode()).decode(),
    )


def test_a_posted_message_is_stored_then_read_once_into_a_complaint(
    client, webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        answer = post(client, postmark(mail.plain()))

    assert answer.status_code == 200
    email = InboundEmail.objects.get()
    assert (email.mailbox, email.source, email.message_id) == (
        "complaints",
        "webhook",
        "CAF1234567890@mail.example.com",
    )
    assert len(queued) == 1  # its reading, queued for the worker when the row commits

    services.email_process(email.pk)
    email.refresh_from_db()
    assert email.outcome == InboundEmail.Outcome.NEW_COMPLAINT
    complaint = Complaint.objects.get()
    assert (complaint.channel, complaint.email) == (Complaint.Channel.EMAIL, "ada@example.com")


def test_a_message_posted_twice_is_stored_once(client, webhook):
    assert post(client, postmark(mail.plain())).status_code == 200
    assert post(client, postmark(mail.plain())).status_code == 200

    assert InboundEmail.objects.count() == 1


def test_a_payload_without_the_raw_message_is_rebuilt_from_its_fields_and_stored(client, webhook):
    assert post(client, postmark()).status_code == 200

    email = InboundEmail.objects.get()
    assert email.message_id == "CAF1234567890@mail.example.com"
    services.email_process(email.pk)
    assert Complaint.objects.get().description.startswith("The firewall is still broken\n\nYour engineer")


def test_a_message_to_appeals_is_stored_in_the_appeals_mailbox(client, webhook):
    assert post(client, postmark(mail.plain(to=mail.APPEALS), to=mail.APPEALS)).status_code == 200

    assert InboundEmail.objects.get().mailbox == "appeals"


def test_a_message_delivered_to_both_mailboxes_is_kept_in_each_and_makes_one_case(client, webhook):
    both = f"{mail.COMPLAINTS}, {mail.APPEALS}"
    raw = mail.plain(to=both)

    assert post(client, postmark(raw, to=both, original_recipient=mail.COMPLAINTS)).status_code == 200
    assert post(client, postmark(raw, to=both, original_recipient=mail.APPEALS)).status_code == 200

    for email in InboundEmail.objects.order_by("pk"):
        services.email_process(email.pk)
    assert Complaint.objects.count() == 1
    assert dict(InboundEmail.objects.values_list("mailbox", "state")) == {"complaints": "done", "appeals": "duplicate"}


def test_without_the_address_it_was_delivered_to_the_mailboxes_are_those_it_names(client, webhook):
    both = f"{mail.COMPLAINTS}, {mail.APPEALS}"
    raw = mail.plain(to=both)

    assert post(client, postmark(raw, to=both, original_recipient="")).status_code == 200

    emails = list(InboundEmail.objects.order_by("mailbox"))
    assert [e.mailbox for e in emails] == ["appeals", "complaints"]
    for email in sorted(emails, key=lambda e: e.mailbox != "complaints"):
        services.email_process(email.pk)
    assert Complaint.objects.count() == 1
    assert InboundEmail.objects.get(mailbox="appeals").state == InboundEmail.State.DUPLICATE


@pytest.mark.parametrize("credentials", ["postmark:wrong-password", "someone:else"])
def test_a_post_without_the_secret_is_refused_and_stores_nothing(client, webhook, credentials):
    answer = post(client, postmark(mail.plain()), credentials=credentials)

    assert answer.status_code == 400
    assert not InboundEmail.objects.exists()


def test_without_a_secret_the_webhook_does_not_exist(client):
    assert not settings.ANYMAIL["WEBHOOK_SECRET"]  # the test settings, as production without the variable

    answer = post(client, postmark(mail.plain()))

    assert answer.status_code == 404
    assert not InboundEmail.objects.exists()
