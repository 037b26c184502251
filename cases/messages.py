"""The emails of the complaints app: each kind, its templates, and the facts it needs when it is sent.

Registered with the outbox (``notifications.kinds``) in ``CasesConfig.ready``. The
``prepare`` functions only read: they run with no row locked, just before the email goes
out. ``on_sent`` functions record what sending changed, in the transaction that marks the
email sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse

from cases import business_days, links, services
from cases.models import CLIENT_ROLE, ClientUpdate, Complaint, Extension, InformationRequest
from notifications.kinds import MessageKind
from notifications.models import OutboundMessage

# How the client's email names each promise.
EXTENSION_WORDS = {
    "acknowledgement": "acknowledgement",
    "outcome": "written response",
    "appeal_acknowledgement": "acknowledgement of your appeal",
    "appeal_decision": "Director's decision on your appeal",
}


def case_of(message: OutboundMessage) -> Complaint:
    """The case an email of a case is about (each of them has one)."""
    if message.complaint is None:
        raise ValueError(f"Outbox message {message.pk} ({message.kind}) names no case.")
    return message.complaint


def to_client(message: OutboundMessage, complaint: Complaint | None = None) -> dict[str, Any]:
    """What every email to the client or their representative needs: the case, its secure link, and the
    addressee (``Complaint.correspondent``: whom ``services.message_to_client`` queued this copy for)."""
    complaint = complaint or case_of(message)
    addressee = complaint.correspondent(message.context.get("recipient", CLIENT_ROLE))
    return {
        "complaint": complaint,
        "tracking_url": links.client_url(complaint),
        "addressee": addressee,
        # Subjects say "your complaint" to the client and "the complaint" to their representative.
        "your": "the" if addressee.is_representative else "your",
    }


def _with_client_link(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    return to_client(message)


def _actions_done(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    until = datetime.fromisoformat(message.context["send_at"])
    day = business_days.london_date(until)
    since = datetime.combine(day - timedelta(days=1), settings.CLOSE_OF_BUSINESS, tzinfo=business_days.LONDON)
    done = case_of(message).actions.filter(done_at__gte=since, done_at__lt=until).order_by("done_at")
    return {**_with_client_link(message, at), "actions": list(done), "day": day}


def _update(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    update = ClientUpdate.objects.get(pk=message.context["update_id"], complaint=message.complaint)
    return {**_with_client_link(message, at), "update": update}


def _withdrawal(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """When it was withdrawn, and until when a mistake can be put right (``services.reopen_deadline``)."""
    complaint = case_of(message)
    withdrawn_at = complaint.withdrawn_at or message.created_at
    return {
        **_with_client_link(message, at),
        "withdrawn_on": business_days.london_date(withdrawn_at),
        "reopen_until": services.reopen_deadline(complaint),
    }


def _acknowledgement(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """The complaint as it will be once this email has gone: acknowledged at ``at``, its outcome due date set.

    Only the copy used for the email changes here; ``_acknowledged`` records it when the email is sent.
    """
    complaint = case_of(message)
    if complaint.status == Complaint.Status.RECEIVED:
        complaint.outcome_due = business_days.due_date(at, settings.COMPLAINT_OUTCOME_DAYS)
    return to_client(message, complaint)


def _acknowledged(message: OutboundMessage, at: datetime) -> None:
    """Sending the acknowledgement is what acknowledges the complaint: the 10 business days run from ``at``.

    The case was read with the outbox row, in the transaction that records the sending (``notifications.services``).
    """
    complaint = case_of(message)
    if complaint.status == Complaint.Status.RECEIVED:
        services.complaint_acknowledge(complaint=complaint, at=at)


def _information_request(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    request = InformationRequest.objects.get(pk=message.context["request_id"], complaint=message.complaint)
    return {**_with_client_link(message, at), "request": request}


def _extension(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    extension = Extension.objects.get(pk=message.context["extension_id"], complaint=message.complaint)
    return {
        **_with_client_link(message, at),
        "extension": extension,
        "deadline_words": EXTENSION_WORDS[extension.deadline],
    }


def staff_case_link(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    """Staff emails link to the case page (sign-in required); they never quote client text."""
    complaint = case_of(message)
    case_url = settings.SITE_URL + reverse("staff:case", args=[complaint.reference])
    return {"complaint": complaint, "case_url": case_url}


KINDS = (
    MessageKind(
        "complaint_acknowledgement",
        "Complaint acknowledgement",
        template="complaint_acknowledgement",
        prepare=_acknowledgement,
        on_sent=_acknowledged,
    ),
    MessageKind("client_link", "Fresh tracking link", template="client_link", prepare=_with_client_link),
    # The question itself is read from the InformationRequest named in the row's context.
    MessageKind(
        "information_request",
        "Request for information",
        template="information_request",
        prepare=_information_request,
    ),
    # The outcome letter PDF is attached from the row's ``letter``.
    MessageKind("outcome_letter", "Outcome letter", template="outcome_letter", prepare=_with_client_link),
    MessageKind("staff_assignment", "Case assigned (staff)", template="staff_assignment", prepare=staff_case_link),
    MessageKind("staff_client_reply", "Client replied (staff)", template="staff_client_reply", prepare=staff_case_link),
    # The extension (old date, new date, reason) is read from the row named in the context.
    MessageKind("deadline_extension", "Deadline extended", template="deadline_extension", prepare=_extension),
    MessageKind("complaint_withdrawn", "Withdrawal confirmed", template="complaint_withdrawn", prepare=_withdrawal),
    # The actions done in the day up to the moment in the row's context (services.actions_digest_moment).
    MessageKind("actions_done", "Actions done (daily)", template="actions_done", prepare=_actions_done),
    # The update's words are read from the ClientUpdate named in the row's context.
    MessageKind("client_update", "Update to the client", template="client_update", prepare=_update),
)
