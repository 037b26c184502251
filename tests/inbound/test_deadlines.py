"""An email waiting for a person owes an acknowledgement like a complaint: the sweep reminds and escalates it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail as outbox

from cases.business_days import LONDON
from inbound.models import InboundEmail
from notifications.models import OutboundMessage
from notifications.services import message_deliver
from procedure.models import EmailNotice
from procedure.sweep import deadlines_sweep
from tests.factories import lead
from tests.inbound import mail
from tests.inbound.helpers import waiting_email

pytestmark = pytest.mark.django_db

# Wednesday 9 December 2026 10:15: acknowledgement due Friday 11 December.
ARRIVED = dt.datetime(2026, 12, 9, 10, 15, tzinfo=LONDON)


def sweep_at(day: int, hour: int = 9):
    at = dt.datetime(2026, 12, day, hour, 0, tzinfo=LONDON)
    with time_machine.travel(at, tick=False):
        return deadlines_sweep(now=at)


@pytest.fixture
def waiting():
    lead(email="lena@jpditservices.com")
    with time_machine.travel(ARRIVED, tick=False):
        return waiting_email(mail.plain(headers={"X-Spam-Flag": "YES"}), arrived=ARRIVED)


def test_a_waiting_email_is_due_two_business_days_after_it_arrived(waiting):
    assert waiting.acknowledgement_due == dt.date(2026, 12, 11)


def test_the_leads_are_reminded_the_business_day_before_once(waiting):
    sweep_at(9)  # Wednesday: not due tomorrow
    assert not EmailNotice.objects.exists()
    sweep_at(10)
    sweep_at(10, hour=11)  # a second run the same day sends nothing more
    [reminder] = OutboundMessage.objects.filter(kind="staff_email_reminder")
    assert reminder.to_email == "lena@jpditservices.com"
    with time_machine.travel(dt.datetime(2026, 12, 10, 9, 1, tzinfo=LONDON), tick=False):
        message_deliver(reminder.pk)
    sent = outbox.outbox[-1]
    assert "acknowledge it by 11 December" in sent.subject
    assert f"/staff/email-in/{waiting.pk}/" in sent.body
    assert "Flagged as spam by the mail server." in sent.body  # why it waits...
    assert "firewall" not in sent.body.lower()  # ...never the email's own words


def test_a_missed_acknowledgement_is_escalated_to_the_leads_once(waiting):
    sweep_at(14)  # Monday after: Friday passed
    sweep_at(14, hour=10)
    [escalation] = OutboundMessage.objects.filter(kind="staff_email_escalation")
    assert EmailNotice.objects.filter(email=waiting, kind="escalation").count() == 1
    with time_machine.travel(dt.datetime(2026, 12, 14, 9, 1, tzinfo=LONDON), tick=False):
        message_deliver(escalation.pk)
    assert "1 business day late" in outbox.outbox[-1].body


def test_an_email_a_lead_dealt_with_is_neither_reminded_nor_escalated(waiting):
    InboundEmail.objects.filter(pk=waiting.pk).update(state=InboundEmail.State.HANDLED)
    sweep_at(10)
    sweep_at(14)
    assert not OutboundMessage.objects.filter(kind__startswith="staff_email").exists()
