"""The emails the deadline sweep sends: each kind, its templates, and the facts it needs when it is sent.

Registered with the outbox (``notifications.kinds``) in ``ProcedureConfig.ready``; the sweep
writes their outbox rows in bulk (``procedure.sweep``), and each row's context says what is due.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from cases import business_days, deadlines
from cases.messages import case_of, to_client
from cases.models import Action, Deadline
from inbound.models import InboundEmail
from notifications.kinds import MessageKind
from notifications.models import OutboundMessage


def _staff_message(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """Reminders, escalations and overdue actions: what is due, when, and where to act (no client text)."""
    context = message.context
    complaint = case_of(message)
    due = date.fromisoformat(context["due_date"])
    urls = {"case_url": settings.SITE_URL + reverse("staff:case", args=[complaint.reference])}
    if context.get("appeal") and hasattr(complaint, "appeal"):
        urls["appeal_url"] = settings.SITE_URL + reverse("admin:appeals_appeal_change", args=[complaint.appeal.pk])
    action = Action.objects.filter(pk=context["action_id"]).first() if context.get("action_id") else None
    today = business_days.london_date(at)
    return {
        "complaint": complaint,
        "deadline_label": Deadline(context["deadline"]).label,
        "due_date": due,
        "days_late": business_days.business_days_between(due, today) if today > due else 0,
        "action": action,
        **urls,
    }


def _closed(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    return {**to_client(message), "window_end": date.fromisoformat(message.context["window_end"])}


def _waiting_email(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """Reminders and escalations of an email waiting for a lead: where it is and by when (not its words)."""
    email = InboundEmail.objects.get(pk=message.context["email_id"])
    due = date.fromisoformat(message.context["due_date"])
    today = business_days.london_date(at)
    return {
        "mailbox": email.get_mailbox_display(),
        "arrived_at": email.arrived_at,
        "reason": email.reason,
        "due_date": due,
        "days_late": deadlines.business_days_overdue(due, today),
        "email_url": settings.SITE_URL + reverse("staff:email", args=[email.pk]),
    }


KINDS = (
    MessageKind(
        "staff_deadline_reminder",
        "Deadline reminder (staff)",
        template="staff_deadline_reminder",
        prepare=_staff_message,
    ),
    MessageKind(
        "staff_deadline_escalation",
        "Missed deadline escalation (staff)",
        template="staff_deadline_escalation",
        prepare=_staff_message,
    ),
    MessageKind(
        "staff_action_overdue",
        "Overdue action reminder (staff)",
        template="staff_action_overdue",
        prepare=_staff_message,
    ),
    MessageKind(
        "staff_email_reminder",
        "Email waiting for a person: reminder (staff)",
        template="staff_email_reminder",
        prepare=_waiting_email,
    ),
    MessageKind(
        "staff_email_escalation",
        "Email waiting for a person: missed deadline (staff)",
        template="staff_email_escalation",
        prepare=_waiting_email,
    ),
    MessageKind(
        "complaint_closed",
        "Complaint closed (appeal window ended)",
        template="complaint_closed",
        prepare=_closed,
    ),
)
