"""Reads the pages need about appeals (the client's case page and the staff case page)."""

from __future__ import annotations

from appeals.models import Appeal
from cases.models import Complaint

# Only a complaint in one of these states can have an appeal (lodging one moves it to under_appeal).
STATES_WITH_APPEAL = (Complaint.Status.UNDER_APPEAL, Complaint.Status.CLOSED)


def appeal_for_complaint(complaint: Complaint) -> Appeal | None:
    """The complaint's appeal, or None: no query for a complaint that cannot have one, nor for one
    fetched with ``select_related("appeal")`` (as ``cases.access.complaint_for_staff`` does)."""
    if complaint.status not in STATES_WITH_APPEAL:
        return None
    try:
        return complaint.appeal
    except Appeal.DoesNotExist:
        return None
