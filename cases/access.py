"""The one way a staff page fetches a complaint.

Every complaint a staff page shows is fetched with ``complaint_for_staff``, which
answers 404 for anything the user may not see, so a reference number alone never
reveals that a case exists. (Who is staff at all: ``accounts.access.staff_required``.)
"""

from __future__ import annotations

from django.http import Http404

from accounts.access import is_case_staff
from cases.models import Complaint


def complaints_visible_to(user):
    """The complaints a staff user may see: the role rules of ``cases.permissions``, nothing more.

    Leads see every case, managers their own and the unassigned queue;
    directors see none here (they work on appeals in the admin).
    """
    if not is_case_staff(user):
        return Complaint.objects.none()
    return Complaint.objects.visible_to(user)


def complaint_for_staff(user, reference: str, *, permission: str = "cases.view_complaint") -> Complaint:
    """The complaint with this reference, if ``user`` may see it (and holds ``permission``); else 404.

    A missing case and a forbidden one give the same answer.
    """
    if not user.has_perm(permission):
        raise Http404("No such complaint.")
    try:
        # The assignee and category are on every page that shows a case, and the appeal on a
        # case page that has one: one query, not four (at most 12 per case page, issue 3).
        visible = complaints_visible_to(user).select_related("assignee", "category", "appeal")
        return visible.get(reference=reference.strip().upper())
    except Complaint.DoesNotExist:
        raise Http404("No such complaint.") from None
