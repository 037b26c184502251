"""What other systems hear of an appeal by webhook (``notifications.webhooks``; registered in ``AppealsConfig.ready``).

An appeal lodged (``appeals.services._create_appeal``, whichever way it came) and the Director's decision
(``appeal_decide``), each handed to the outbox in the transaction that writes its timeline entry. The
facts: the complaint's (``cases.webhooks.complaint_facts``) and the appeal's states and dates, never its
reasons; an endpoint allowed personal data also gets the client's details.
"""

from __future__ import annotations

from typing import Any

from appeals.models import Appeal
from cases import webhooks as case_webhooks
from cases.models import ComplaintEvent
from notifications.kinds import WebhookEventKind
from notifications.webhooks import iso

LODGED = "appeal.lodged"
DECIDED = "appeal.decided"


def appeal_facts(appeal: Appeal) -> dict[str, Any]:
    return {
        "appeal": {
            "status": appeal.status,
            "channel": appeal.channel,
            "received_at": iso(appeal.received_at),
            "acknowledgement_due": iso(appeal.acknowledgement_due),
            "decision_due": iso(appeal.decision_due),
            "decision": appeal.decision or None,
            "new_outcome": appeal.new_outcome or None,
            "decided_at": iso(appeal.decided_at),
        }
    }


def emit(kind: str, event: ComplaintEvent, appeal: Appeal) -> None:
    """Tell the endpoints that want ``kind`` of this appeal's event (call in the transaction that wrote ``event``)."""
    case_webhooks.emit(kind, event, appeal.complaint, **appeal_facts(appeal))


KINDS = (
    WebhookEventKind(LODGED, "An appeal was lodged", personal_data=case_webhooks.client_details),
    WebhookEventKind(DECIDED, "An appeal was decided", personal_data=case_webhooks.client_details),
)
