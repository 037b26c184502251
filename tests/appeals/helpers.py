"""Cases at the stage where an appeal can begin, made through the real services."""

from __future__ import annotations

import datetime as dt

from django.core import mail

from appeals import services as appeal_services
from appeals.models import Appeal
from cases import business_days, services
from cases.models import Complaint
from notifications import services as outbox
from notifications.models import OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, manager

FINDINGS = "The engineer was sent to an emergency call first and nobody told you."
REASONS = "Our booking confirmation gave an afternoon window, and the engineer arrived within it."
APPEAL_REASONS = "Nobody told me about the change of plan, and I lost a day's trading waiting in."


def responded(worker=None, **kwargs) -> Complaint:
    """A complaint whose outcome (not upheld) has been issued by ``worker``."""
    worker = worker or manager()
    complaint = AcknowledgedComplaintFactory(**kwargs)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    return services.complaint_issue_outcome(
        actor=worker, complaint=complaint, outcome="not_upheld", findings=FINDINGS, reasons=REASONS
    )


def lodged(complaint: Complaint | None = None, *, send: bool = True) -> Appeal:
    """The client appeals from their page; with ``send`` the acknowledgement goes out (and acknowledges)."""
    complaint = complaint or responded()
    appeal = appeal_services.appeal_lodge(complaint=complaint, reasons=APPEAL_REASONS)
    if send:
        deliver(kind="appeal_acknowledgement")
    appeal.refresh_from_db()
    return appeal


def deliver(*, kind: str) -> list[OutboundMessage]:
    """Send every pending message of ``kind`` as the worker would; returns them."""
    sent = []
    for message in OutboundMessage.objects.filter(kind=kind, state=OutboundMessage.State.PENDING):
        assert outbox.message_deliver(message.pk) == "sent"
        sent.append(message)
    return sent


def in_days(n: int) -> dt.date:
    """N business days from today (an action's due date must be a business day)."""
    return business_days.add_business_days(business_days.london_today(), n)


def last_mail_to(address: str):
    return [m for m in mail.outbox if address in m.to][-1]
