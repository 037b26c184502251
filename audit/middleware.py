"""One audit entry for every staff request that concerns a case, written after the response.

Which requests: signed-in staff (``is_staff``) calling a URL of the staff pages or
the admin that names a case (the ``<reference>`` of the staff URLs; the appeal,
complaint, letter or action id of an admin or action URL), and the exports of
the reports pages (by URL name: no case, the figures are counted). Anything else
(the public form, clients' secure pages, the dashboard) is left alone without
even looking at the user.

What: ``AUDITED`` below, one row per URL name: the action (view, download,
export; any POST is a change) and fixed words. The case is found by the
database inside the one INSERT (a subquery from the reference or id), so an
audited request costs exactly one query more and none is made before the view
runs. A failed insert is logged as a warning naming no person and the response
goes out as it is.

The entry is written whatever the answer (200, 403, 404): a refused attempt on a
case is worth recording too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db.models import CharField, Subquery, Value
from django.db.models.functions import Coalesce

from audit.models import AuditEntry
from audit.services import entry_from_request

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
VIEW, DOWNLOAD, EXPORT, CHANGE = (choice.value for choice in AuditEntry.Action)


@dataclass(frozen=True)
class Audited:
    """What a request to one URL name means: the action and words for reading it, and for a POST."""

    action: str
    reading: str
    posting: str = ""
    # The URL kwarg naming the object within the case, and what it is.
    object_kwarg: str = ""
    object_kind: str = ""


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
    "appeal_log": Audited(VIEW, "Opened the appeal log form", "Logged an appeal"),
    "case_revoke_links": Audited(VIEW, "Opened the revoke form", "Revoked the client's secure links"),
    "case_audit": Audited(VIEW, "Read the case's audit log"),
    "case_anonymise": Audited(VIEW, "Opened the anonymisation form", "Anonymised the case on request"),
    "action_done": Audited(VIEW, "Opened an action", "Marked an action done", "action_id", "action"),
}
ADMIN = {
    "appeals_appeal_change": Audited(VIEW, "Viewed the appeal (Director)", "Changed the appeal (Director)"),
    "appeals_appeal_review": Audited(VIEW, "Opened the appeal review", "Started the appeal review"),
    "appeals_appeal_preview": Audited(
        DOWNLOAD, "Downloaded the decision letter preview", "Previewed the decision letter"
    ),
    "appeals_appeal_decide": Audited(VIEW, "Opened the appeal decision", "Decided the appeal"),
    "appeals_appeal_attachment": Audited(
        DOWNLOAD, "Downloaded a document (Director)", "", "attachment_id", "attachment"
    ),
    "appeals_appeal_letter": Audited(DOWNLOAD, "Downloaded a letter (Director)", "", "letter_id", "letter"),
    "cases_complaint_change": Audited(VIEW, "Viewed the complaint in the admin"),
    "notifications_letter_change": Audited(VIEW, "Viewed a letter in the admin", "", "object_id", "letter"),
    "notifications_outboundmessage_change": Audited(VIEW, "Viewed a message in the admin", "", "object_id", "message"),
}
# Report exports name no case: recorded by URL name, whatever the reports app calls them.
EXPORT_WORDS = ("csv", "pdf", "export")


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _case_from_kwargs(url_name: str, kwargs: dict) -> dict:
    """The entry's case fields, as subqueries the INSERT resolves (no query of their own)."""
    from appeals.models import Appeal
    from cases.models import Action, Complaint
    from notifications.models import Letter, OutboundMessage

    if "reference" in kwargs:
        reference = str(kwargs["reference"]).strip().upper()[:24]
        return {
            "complaint_id": Subquery(Complaint.objects.filter(reference=reference).values("pk")[:1]),
            "reference": reference,
        }
    rows = None
    if url_name.startswith("appeals_appeal_"):
        pk = _int(kwargs.get("pk", kwargs.get("object_id")))
        rows = Complaint.objects.filter(pk__in=Appeal.objects.filter(pk=pk).values("complaint_id")) if pk else None
    elif url_name == "cases_complaint_change":
        pk = _int(kwargs.get("object_id"))
        rows = Complaint.objects.filter(pk=pk) if pk else None
    elif url_name == "notifications_letter_change":
        pk = _int(kwargs.get("object_id"))
        rows = Complaint.objects.filter(pk__in=Letter.objects.filter(pk=pk).values("complaint_id")) if pk else None
    elif url_name == "notifications_outboundmessage_change":
        pk = _int(kwargs.get("object_id"))
        rows = (
            Complaint.objects.filter(pk__in=OutboundMessage.objects.filter(pk=pk).values("complaint_id"))
            if pk
            else None
        )
    elif "action_id" in kwargs:
        pk = _int(kwargs["action_id"])
        rows = Complaint.objects.filter(pk__in=Action.objects.filter(pk=pk).values("complaint_id")) if pk else None
    if rows is None:
        return {}
    rows = rows.order_by()
    return {
        "complaint_id": Subquery(rows.values("pk")[:1]),
        "reference": Coalesce(Subquery(rows.values("reference")[:1]), Value(""), output_field=CharField()),
    }


def audited(match) -> Audited | None:
    """What a resolved URL means for the audit trail, or None if it is not audited."""
    if match is None:
        return None
    namespace, name = match.namespace, match.url_name or ""
    if namespace == "staff":
        if name in STAFF:
            return STAFF[name]
        # A case page added later without a row above is still recorded, in general words.
        if "reference" in match.kwargs:
            return Audited(VIEW, f"Opened a case page ({name})"[:200], f"Changed the case ({name})"[:200])
        return None
    if namespace == "admin":
        return ADMIN.get(name)
    if namespace == "reports" and any(word in name.lower() for word in EXPORT_WORDS):
        return Audited(EXPORT, f"Exported a report ({name})"[:200], f"Exported a report ({name})"[:200])
    return None


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        rule = audited(getattr(request, "resolver_match", None))
        if rule is not None:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff:
                self.record(request, response, rule)
        return response

    @staticmethod
    def record(request, response, rule: Audited) -> None:
        try:
            match = request.resolver_match
            reading = request.method in SAFE_METHODS
            fields = _case_from_kwargs(match.url_name or "", match.kwargs)
            if rule.object_kwarg and rule.object_kwarg in match.kwargs:
                fields["object_kind"] = rule.object_kind
                fields["object_id"] = _int(match.kwargs[rule.object_kwarg])
            entry = entry_from_request(
                request,
                action=rule.action if reading or rule.action == EXPORT else CHANGE,
                description=rule.reading if reading else (rule.posting or rule.reading),
                status_code=response.status_code,
                **fields,
            )
            # In autocommit (middleware runs outside the view's transaction), so a failure here
            # is this statement's alone: nothing else to roll back, no savepoint needed.
            entry.save()
        except Exception as error:  # noqa: BLE001 - the audit must never break the response
            logger.warning(
                "audit entry not written (%s) for %s %s",
                type(error).__name__,
                request.method,
                getattr(request.resolver_match, "view_name", ""),
            )
