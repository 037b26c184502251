"""Every kind of message the product sends, in one table.

For each kind: its email templates (``templates/emails/<template>/{subject.txt,
body.txt,body.html}``) and, where the message needs facts that only exist at
the moment of sending, the function that prepares them (called inside the
sending transaction, with the outbox row locked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from notifications.models import OutboundMessage

Kind = OutboundMessage.Kind


@dataclass(frozen=True)
class MessageKind:
    template: str
    # Dotted path of ``prepare(message) -> dict``; runs in the sending transaction.
    prepare: str | None = None

    def context_for(self, message: OutboundMessage) -> dict[str, Any]:
        if self.prepare is None:
            return {}
        function: Callable[[OutboundMessage], dict[str, Any]] = import_string(self.prepare)
        return function(message)


KINDS: dict[str, MessageKind] = {
    # Sending the acknowledgement is what acknowledges the complaint: the outcome
    # due date in the email runs from the moment it goes out.
    Kind.COMPLAINT_ACKNOWLEDGEMENT: MessageKind(
        template="complaint_acknowledgement",
        prepare="cases.services.complaint_prepare_acknowledgement",
    ),
    Kind.CLIENT_LINK: MessageKind(
        template="client_link",
        prepare="cases.services.complaint_prepare_client_link",
    ),
    # The question itself is read from the InformationRequest named in the row's context.
    Kind.INFORMATION_REQUEST: MessageKind(
        template="information_request",
        prepare="cases.services.complaint_prepare_information_request",
    ),
    # The outcome letter PDF is attached from the row's ``letter``.
    Kind.OUTCOME_LETTER: MessageKind(
        template="outcome_letter",
        prepare="cases.services.complaint_prepare_client_link",
    ),
    Kind.STAFF_ASSIGNMENT: MessageKind(
        template="staff_assignment",
        prepare="cases.services.complaint_prepare_staff_message",
    ),
    Kind.STAFF_CLIENT_REPLY: MessageKind(
        template="staff_client_reply",
        prepare="cases.services.complaint_prepare_staff_message",
    ),
    # As for complaints, sending the acknowledgement acknowledges the appeal: the
    # Director's 15 business days run from the moment it goes out.
    Kind.APPEAL_ACKNOWLEDGEMENT: MessageKind(
        template="appeal_acknowledgement",
        prepare="appeals.services.appeal_prepare_acknowledgement",
    ),
    # The final decision letter PDF is attached from the row's ``letter``.
    Kind.APPEAL_DECISION_LETTER: MessageKind(
        template="appeal_decision_letter",
        prepare="appeals.services.appeal_prepare_client_message",
    ),
    Kind.STAFF_NEW_APPEAL: MessageKind(
        template="staff_new_appeal",
        prepare="appeals.services.appeal_prepare_staff_message",
    ),
    # Written by the deadline sweep (cases.deadlines) in bulk; the row's context says what is due.
    Kind.STAFF_DEADLINE_REMINDER: MessageKind(
        template="staff_deadline_reminder",
        prepare="cases.deadlines.deadline_prepare_staff_message",
    ),
    Kind.STAFF_DEADLINE_ESCALATION: MessageKind(
        template="staff_deadline_escalation",
        prepare="cases.deadlines.deadline_prepare_staff_message",
    ),
    Kind.STAFF_ACTION_OVERDUE: MessageKind(
        template="staff_action_overdue",
        prepare="cases.deadlines.deadline_prepare_staff_message",
    ),
    Kind.COMPLAINT_CLOSED: MessageKind(
        template="complaint_closed",
        prepare="cases.deadlines.deadline_prepare_closed",
    ),
    # The extension (old date, new date, reason) is read from the row named in the context.
    Kind.DEADLINE_EXTENSION: MessageKind(
        template="deadline_extension",
        prepare="cases.services.complaint_prepare_extension",
    ),
}


def kind_of(message: OutboundMessage) -> MessageKind:
    return KINDS[message.kind]
