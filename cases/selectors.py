"""Reads that the staff pages need, each a fixed number of queries whatever the data."""

from __future__ import annotations

from dataclasses import dataclass

from cases.access import complaints_visible_to
from cases.models import Complaint

RECENT_LIMIT = 25

# What a list row shows; nothing else is read (descriptions can be long).
_LIST_FIELDS = (
    "pk",
    "reference",
    "name",
    "channel",
    "status",
    "received_at",
    "acknowledgement_due",
    "outcome_due",
)


def complaint_list_recent(*, user, limit: int = RECENT_LIMIT) -> list[Complaint]:
    """The most recently received complaints ``user`` may see, newest first (one query)."""
    queryset = complaints_visible_to(user).only(*_LIST_FIELDS).order_by("-received_at", "-pk")
    return list(queryset[:limit])


@dataclass(frozen=True)
class IntakeSummary:
    """How a logged complaint is being acknowledged: by email, or by a letter to post."""

    complaint: Complaint
    acknowledgement_message: object | None
    letters: list


def complaint_intake_summary(*, complaint: Complaint) -> IntakeSummary:
    """The acknowledgement email (if any) and the acknowledgement letters of a complaint (two queries)."""
    from notifications.models import Letter, OutboundMessage

    message = (
        OutboundMessage.objects.filter(complaint=complaint, kind=OutboundMessage.Kind.COMPLAINT_ACKNOWLEDGEMENT)
        .only("pk", "to_email", "state", "sent_at", "complaint_id")
        .first()
    )
    letters = list(
        Letter.objects.filter(complaint=complaint, kind=Letter.Kind.ACKNOWLEDGEMENT).only(
            "pk", "kind", "created_at", "complaint_id"
        )
    )
    return IntakeSummary(complaint=complaint, acknowledgement_message=message, letters=letters)
