"""Which pages about a case the audit trail records (registered with ``audit.registry`` in ``CasesConfig.ready``).

Every staff URL with a ``<reference>`` names its case; the admin pages of a complaint, its
letters and its emails name it by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from audit.registry import DOWNLOAD, VIEW, Audited, int_argument
from cases.models import Action, Complaint
from notifications.models import Letter, OutboundMessage


def by_reference(kwargs: Mapping[str, Any]) -> QuerySet | None:
    if "reference" not in kwargs:
        return None
    return Complaint.objects.filter(reference=str(kwargs["reference"]).strip().upper()[:24])


def _through(model, argument: str):
    """The complaint of the ``model`` row whose id is the URL argument ``argument``."""

    def case_of(kwargs: Mapping[str, Any]) -> QuerySet | None:
        pk = int_argument(kwargs.get(argument))
        if pk is None:
            return None
        if model is Complaint:
            return Complaint.objects.filter(pk=pk)
        return Complaint.objects.filter(pk__in=model.objects.filter(pk=pk).values("complaint_id"))

    return case_of


STAFF = {
    "case": Audited(VIEW, "Viewed the case page"),
    "complaint_logged": Audited(VIEW, "Viewed the case just logged"),
    "case_note": Audited(VIEW, "Opened the note form", "Added an internal note"),
    "case_assign": Audited(VIEW, "Opened the assignment form", "Assigned the case"),
    "case_pick_up": Audited(VIEW, "Opened the pick-up form", "Picked up the case"),
    "case_start": Audited(VIEW, "Opened the start form", "Started the investigation"),
    "case_categorise": Audited(VIEW, "Opened the category form", "Categorised the case"),
    "case_extend": Audited(VIEW, "Opened the extension form", "Extended a deadline"),
    "case_request_information": Audited(VIEW, "Opened the request form", "Asked the client for information"),
    "attachment_download": Audited(DOWNLOAD, "Downloaded a document", "", "attachment_id", "attachment"),
    "letter_download": Audited(DOWNLOAD, "Downloaded a letter", "", "letter_id", "letter"),
    "outcome": Audited(VIEW, "Opened the outcome form", "Worked on the outcome"),
    "outcome_preview": Audited(VIEW, "Previewed the outcome letter", "Previewed the outcome letter"),
    "outcome_preview_pdf": Audited(DOWNLOAD, "Downloaded the outcome letter preview", "Previewed the outcome letter"),
    "outcome_issue": Audited(VIEW, "Opened the outcome form", "Issued the outcome"),
    "case_revoke_links": Audited(VIEW, "Opened the revoke form", "Revoked the client's secure links"),
    "case_close_not_a_complaint": Audited(
        VIEW, "Opened the not-a-complaint form", "Closed the case as not a complaint"
    ),
    "case_add_documents": Audited(VIEW, "Opened the documents form", "Added documents to the case"),
    "case_withdraw": Audited(VIEW, "Opened the withdrawal form", "Recorded the client's withdrawal"),
    "case_reopen": Audited(VIEW, "Opened the reopen form", "Reopened a withdrawn complaint"),
    "case_update": Audited(VIEW, "Opened the update form", "Sent the client an update"),
    "case_access_needs": Audited(VIEW, "Opened the adjustments form", "Recorded the adjustments agreed"),
    "case_link_related": Audited(VIEW, "Opened the related-complaint form", "Linked a related complaint"),
    "case_unlink_related": Audited(VIEW, "Opened the related-complaint form", "Removed a related complaint's link"),
    "case_merge": Audited(VIEW, "Opened the merge form", "Merged the case into its main complaint"),
    "action_done": Audited(
        VIEW, "Opened an action", "Marked an action done", "action_id", "action", case_of=_through(Action, "action_id")
    ),
}
ADMIN = {
    "cases_complaint_change": Audited(
        VIEW, "Viewed the complaint in the admin", case_of=_through(Complaint, "object_id")
    ),
    "notifications_letter_change": Audited(
        VIEW, "Viewed a letter in the admin", "", "object_id", "letter", case_of=_through(Letter, "object_id")
    ),
    "notifications_outboundmessage_change": Audited(
        VIEW,
        "Viewed a message in the admin",
        "",
        "object_id",
        "message",
        case_of=_through(OutboundMessage, "object_id"),
    ),
}
