"""Which appeal pages the audit trail records (registered with ``audit.registry`` in ``AppealsConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from appeals.models import Appeal
from audit.registry import DOWNLOAD, VIEW, Audited, int_argument
from cases.models import Complaint


def _appeals_case(kwargs: Mapping[str, Any]) -> QuerySet | None:
    """The complaint of the appeal an admin URL names (``<pk>`` or ``<object_id>``)."""
    pk = int_argument(kwargs.get("pk", kwargs.get("object_id")))
    if pk is None:
        return None
    return Complaint.objects.filter(pk__in=Appeal.objects.filter(pk=pk).values("complaint_id"))


STAFF = {
    "appeal_log": Audited(VIEW, "Opened the appeal log form", "Logged an appeal"),
}
ADMIN = {
    "appeals_appeal_change": Audited(
        VIEW, "Viewed the appeal (Director)", "Changed the appeal (Director)", case_of=_appeals_case
    ),
    "appeals_appeal_review": Audited(
        VIEW, "Opened the appeal review", "Started the appeal review", case_of=_appeals_case
    ),
    "appeals_appeal_preview": Audited(
        DOWNLOAD, "Downloaded the decision letter preview", "Previewed the decision letter", case_of=_appeals_case
    ),
    "appeals_appeal_decide": Audited(VIEW, "Opened the appeal decision", "Decided the appeal", case_of=_appeals_case),
    "appeals_appeal_attachment": Audited(
        DOWNLOAD, "Downloaded a document (Director)", "", "attachment_id", "attachment", case_of=_appeals_case
    ),
    "appeals_appeal_letter": Audited(
        DOWNLOAD, "Downloaded a letter (Director)", "", "letter_id", "letter", case_of=_appeals_case
    ),
}
