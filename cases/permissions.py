"""Who may see and work on which complaint: the one place the role rules of docs/specification.md live.

* Managers (``cases.work_complaint``) see and work on the cases assigned to them
  and the unassigned queue, from which they may pick a case up.
* Complaints leads (``cases.manage_all_complaints``) see and work on every case,
  and assign and reassign.
* Nobody else sees a case through the staff pages.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Q, QuerySet

from accounts.permissions import users_with_perm

QS = TypeVar("QS", bound=QuerySet)

WORK = "cases.work_complaint"
MANAGE_ALL = "cases.manage_all_complaints"
LOG = "cases.log_complaint"
# The Directors' permission: defined by the appeals app, named here because a message the client sends
# while their appeal is open goes to the Directors too (``services._client_message``).
DECIDE_APPEAL = "appeals.decide_appeal"


def is_case_worker(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(WORK))


def is_lead(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE_ALL))


def visible_complaints(queryset: QS, user) -> QS:
    if is_lead(user):
        return queryset
    if is_case_worker(user):
        return queryset.filter(Q(assignee=user) | Q(assignee__isnull=True))
    return queryset.none()


def can_see(user, complaint) -> bool:
    if is_lead(user):
        return True
    return is_case_worker(user) and complaint.assignee_id in (None, user.pk)


def can_work_on(user, complaint) -> bool:
    """May ``user`` change this case (notes, requests, outcome)? Same rule as seeing it."""
    return can_see(user, complaint)


def can_assign(user, complaint, assignee) -> bool:
    """Leads assign anyone who works cases; a manager may only pick up an unassigned case."""
    if is_lead(user):
        return assignee is None or is_case_worker(assignee)
    return is_case_worker(user) and complaint.assignee_id is None and assignee is not None and assignee.pk == user.pk


def assignable_users() -> QuerySet:
    """Staff who can be given cases: active staff accounts holding the work permission."""
    return users_with_perm(WORK).filter(is_staff=True).order_by("first_name", "last_name", "username")


def leads() -> QuerySet:
    """The complaints leads: told of new breaches, and of a client's reply on an unassigned case."""
    return users_with_perm(MANAGE_ALL)


def appeal_deciders() -> QuerySet:
    """Active users holding the decide-appeal permission through a group or directly (not bare superusers)."""
    return users_with_perm(DECIDE_APPEAL)
