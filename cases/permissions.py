"""Who may see and work on which complaint: the one place the role rules of SPEC.md live.

* Managers (``cases.work_complaint``) see and work on the cases assigned to them
  and the unassigned queue, from which they may pick a case up.
* Complaints leads (``cases.manage_all_complaints``) see and work on every case,
  and assign and reassign.
* Nobody else sees a case through the staff pages.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

WORK = "cases.work_complaint"
MANAGE_ALL = "cases.manage_all_complaints"
LOG = "cases.log_complaint"


def is_case_worker(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(WORK))


def is_lead(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE_ALL))


def visible_complaints(queryset: QuerySet, user) -> QuerySet:
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


def assignable_users(user_model) -> QuerySet:
    """Staff who can be given cases (members of a group holding the work permission)."""
    return (
        user_model.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(groups__permissions__codename="work_complaint", groups__permissions__content_type__app_label="cases")
            | Q(user_permissions__codename="work_complaint", user_permissions__content_type__app_label="cases")
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
