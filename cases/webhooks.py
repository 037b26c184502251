"""What other systems hear of a complaint by webhook (``notifications.webhooks``; registered in ``CasesConfig.ready``).

Each event is handed to the outbox by the service that writes its timeline entry, in the same transaction
(``emit``): a complaint received (``cases.services._received``, ``_log``), acknowledged
(``complaint_acknowledge``), its outcome issued (``complaint_issue_outcome``). Its facts are the case's
ids, reference, states and dates (``complaint_facts``); an endpoint allowed personal data also gets the
client's details, read when the delivery is sent (``client_details``).
"""

from __future__ import annotations

from typing import Any

from cases.models import Complaint, ComplaintEvent
from notifications.kinds import WebhookEventKind
from notifications.models import OutboundMessage
from notifications.services import webhook_queue
from notifications.webhooks import Event, iso

RECEIVED = "complaint.received"
ACKNOWLEDGED = "complaint.acknowledged"
OUTCOME_ISSUED = "complaint.outcome_issued"


def complaint_facts(complaint: Complaint) -> dict[str, Any]:
    """The complaint as every endpoint may see it: ids, reference, states and dates; nothing about the person."""
    return {
        "complaint": {
            "id": str(complaint.public_id),
            "reference": complaint.reference,
            "status": complaint.status,
            "channel": complaint.channel,
            "received_at": iso(complaint.received_at),
            "acknowledgement_due": iso(complaint.acknowledgement_due),
            "acknowledged_at": iso(complaint.acknowledged_at),
            "outcome_due": iso(complaint.outcome_due),
            "outcome": complaint.outcome or None,
            "responded_at": iso(complaint.responded_at),
            "appeal_deadline": iso(complaint.appeal_deadline),
        }
    }


def client_details(message: OutboundMessage) -> dict[str, Any]:
    """The client's details, for an endpoint allowed personal data, as the case holds them when it is sent."""
    complaint = message.complaint
    if complaint is None:
        return {}
    return {
        "client": {
            "name": complaint.name,
            "email": complaint.email,
            "phone": complaint.phone,
            "organisation": complaint.organisation,
        }
    }


def emit(kind: str, event: ComplaintEvent, complaint: Complaint, **facts: Any) -> None:
    """Tell the endpoints that want ``kind`` of the event whose timeline entry is ``event`` (in its transaction)."""
    webhook_queue(
        event=Event(
            kind=kind,
            id=event.pk,
            occurred_at=event.created_at,
            complaint_id=complaint.pk,
            facts={**complaint_facts(complaint), **facts},
        )
    )


KINDS = (
    WebhookEventKind(RECEIVED, "A complaint was received", personal_data=client_details),
    WebhookEventKind(ACKNOWLEDGED, "A complaint was acknowledged", personal_data=client_details),
    WebhookEventKind(OUTCOME_ISSUED, "A complaint's outcome was issued", personal_data=client_details),
)
