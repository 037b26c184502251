"""What other systems hear of a missed deadline by webhook (``notifications.webhooks``; registered in
``ProcedureConfig.ready``).

The deadline sweep escalates each due date that has passed, once (``procedure.sweep``); the same run
writes the escalation's timeline entry and, in the same transaction, one delivery of ``deadline.breached``
per endpoint that wants it (``breach_deliveries``, bulk-written with the sweep's emails). The facts: the
case's id, reference and state, which promise was missed and its due date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from cases import webhooks as case_webhooks
from cases.models import Complaint, ComplaintEvent, Deadline
from notifications.kinds import WebhookEventKind
from notifications.models import OutboundMessage
from notifications.services import sweep_grace
from notifications.webhooks import Event, deliveries, iso

DEADLINE_BREACHED = "deadline.breached"


def breach_facts(*, complaint: Complaint, deadline: str, due: date, appeal_status: str = "") -> dict[str, Any]:
    """A missed due date: the case (``public_id``, ``reference`` and ``status`` loaded) and the promise."""
    facts: dict[str, Any] = {
        "complaint": {"id": str(complaint.public_id), "reference": complaint.reference, "status": complaint.status},
        "deadline": {"name": deadline, "label": Deadline(deadline).label, "due_date": iso(due)},
    }
    if appeal_status:
        facts["appeal"] = {"status": appeal_status}
    return facts


def breach_deliveries(breaches: Iterable[tuple[ComplaintEvent, dict[str, Any]]], *, now: datetime) -> list:
    """The outbox rows (unsaved) telling the endpoints of each escalation, its timeline entry already saved."""
    rows: list[OutboundMessage] = []
    for event, facts in breaches:
        breach = Event(
            kind=DEADLINE_BREACHED,
            id=event.pk,
            occurred_at=event.created_at,
            complaint_id=event.complaint_id,
            facts=facts,
        )
        rows.extend(deliveries(breach, now=now, first_attempt_at=now + sweep_grace()))
    return rows


KINDS = (WebhookEventKind(DEADLINE_BREACHED, "A deadline was missed", personal_data=case_webhooks.client_details),)
