"""Who may see, log and decide appeals: the one place the appeal role rules live.

* Directors (``appeals.decide_appeal``) see every appeal in the admin and decide
  them, except where they took part in the investigation (``investigators``):
  docs/specification.md requires the decision to come from someone independent of it.
* Complaints leads (``appeals.log_appeal``) log appeals that arrive by letter or email, in the
  staff pages (Directors see no cases there: they work in the admin).
* Managers and leads read an appeal on a case they can see in the staff pages; they
  never decide one.
"""

from __future__ import annotations

from django.db.models import QuerySet

from cases import permissions as case_permissions
from cases.models import Complaint, ComplaintEvent

DECIDE = case_permissions.DECIDE_APPEAL
LOG = "appeals.log_appeal"

# Timeline entries that make their actor part of the investigation.
INVESTIGATING_EVENTS = (
    ComplaintEvent.Kind.INVESTIGATION_STARTED,
    ComplaintEvent.Kind.NOTE_ADDED,
    ComplaintEvent.Kind.INFORMATION_REQUESTED,
    ComplaintEvent.Kind.OUTCOME_ISSUED,
)


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_director(user) -> bool:
    return _active(user) and user.has_perm(DECIDE)


def can_log(user) -> bool:
    return _active(user) and user.has_perm(LOG)


def can_view(user, complaint: Complaint) -> bool:
    """Directors read every appeal; staff read the appeal on a case they can see."""
    return is_director(user) or case_permissions.can_see(user, complaint)


def investigators(complaint: Complaint) -> set[int]:
    """Ids of everyone who investigated the complaint or issued its outcome."""
    ids = set(
        ComplaintEvent.objects.filter(
            complaint=complaint, kind__in=INVESTIGATING_EVENTS, actor__isnull=False
        ).values_list("actor_id", flat=True)
    )
    ids.update(i for i in (complaint.assignee_id, complaint.responded_by_id) if i is not None)
    return ids


def independence_problem(user, complaint: Complaint) -> str:
    """Why ``user`` may not decide this complaint's appeal, or "" if they may."""
    if not is_director(user):
        return "Only a Director (a user with the decide-appeal permission) can decide an appeal."
    if user.pk in investigators(complaint):
        return (
            f"You took part in the investigation of {complaint.reference}, so you cannot decide its appeal: "
            "the decision must be independent. Another user with the decide-appeal permission must decide it."
        )
    return ""


def deciders() -> QuerySet:
    """Active users holding the decide-appeal permission through a group or directly (not bare superusers)."""
    return case_permissions.appeal_deciders()
