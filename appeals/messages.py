"""The emails of the appeals app: each kind, its templates, and the facts it needs when it is sent.

Registered with the outbox (``notifications.kinds``) in ``AppealsConfig.ready``; see
``cases/messages.py`` for what ``prepare`` and ``on_sent`` may do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from appeals import services
from appeals.models import Appeal
from cases import business_days
from cases.messages import to_client
from notifications.kinds import MessageKind
from notifications.models import OutboundMessage


def _appeal(message: OutboundMessage) -> Appeal:
    return Appeal.objects.select_related("complaint").get(complaint=message.complaint_id)


def _acknowledgement(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """The appeal as it will be once this email has gone: acknowledged at ``at``, its decision due date set."""
    appeal = _appeal(message)
    if appeal.status == Appeal.Status.RECEIVED:
        appeal.decision_due = business_days.due_date(at, settings.APPEAL_DECISION_DAYS)
    return {**to_client(message, appeal.complaint), "appeal": appeal}


def _acknowledged(message: OutboundMessage, at: datetime) -> None:
    """Sending the acknowledgement acknowledges the appeal: the Director's 15 business days run from ``at``."""
    appeal = _appeal(message)
    if appeal.status == Appeal.Status.RECEIVED:
        services.appeal_acknowledge(appeal=appeal, at=at)


def _client_message(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    appeal = _appeal(message)
    return {**to_client(message, appeal.complaint), "appeal": appeal}


def _staff_message(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """Staff emails link to the appeal in the admin (sign-in required) and never quote the client."""
    appeal = _appeal(message)
    url = settings.SITE_URL + reverse("admin:appeals_appeal_change", args=[appeal.pk])
    return {
        "complaint": appeal.complaint,
        "appeal": appeal,
        "appeal_url": url,
        "decision_days": settings.APPEAL_DECISION_DAYS,
    }


KINDS = (
    MessageKind(
        "appeal_acknowledgement",
        "Appeal acknowledgement",
        template="appeal_acknowledgement",
        prepare=_acknowledgement,
        on_sent=_acknowledged,
    ),
    # The final decision letter PDF is attached from the row's ``letter``.
    MessageKind(
        "appeal_decision_letter",
        "Final decision on the appeal",
        template="appeal_decision_letter",
        prepare=_client_message,
    ),
    MessageKind("staff_new_appeal", "New appeal (Director)", template="staff_new_appeal", prepare=_staff_message),
)
