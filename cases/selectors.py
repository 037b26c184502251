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


# --- Actions promised in outcome letters (helper G) ---------------------------------------
# Imports kept local to this section so it stands on its own.

_ACTION_LIST_FIELDS = (
    "pk",
    "kind",
    "description",
    "due_date",
    "done_at",
    "complaint_id",
    "owner_id",
    "complaint__reference",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def actions_visible_to(user):
    """Actions a staff member may see: leads every one; managers those they own or on cases they may see."""
    from django.db.models import Q

    from cases import permissions
    from cases.models import Action

    if permissions.is_lead(user):
        return Action.objects.all()
    if permissions.is_case_worker(user):
        return Action.objects.filter(Q(owner=user) | Q(complaint__assignee=user) | Q(complaint__assignee__isnull=True))
    return Action.objects.none()


def action_list_open(*, user, mine: bool = False):
    """Open actions, earliest due first (so overdue ones lead), with case and owner (one query a page)."""
    queryset = actions_visible_to(user).filter(done_at__isnull=True)
    if mine:
        queryset = queryset.filter(owner=user)
    return queryset.select_related("complaint", "owner").only(*_ACTION_LIST_FIELDS).order_by("due_date", "pk")


def action_for_staff(*, user, action_id: int):
    """One action the user may see, or 404 (the same answer as for an action that does not exist)."""
    from django.http import Http404

    from cases.models import Action

    try:
        return actions_visible_to(user).get(pk=action_id)
    except Action.DoesNotExist:
        raise Http404("No such action.") from None
