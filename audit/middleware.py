"""One audit entry for every staff request that concerns a case, written after the response.

Which requests: signed-in staff (``is_staff``) calling a URL of the staff pages or
the admin that names a case (the ``<reference>`` of the staff URLs; the appeal,
complaint, letter or action id of an admin or action URL), and the exports of
the reports pages (by URL name: no case, the figures are counted). Anything else
(the public form, clients' secure pages, the dashboard) is left alone without
even looking at the user.

What: each app registers its URL names (``audit.registry``, in its ``AppConfig.ready``):
the action (view, download, export; any POST is a change) and fixed words. The case is found by the
database inside the one INSERT (a subquery from the reference or id), so an
audited request costs exactly one query more and none is made before the view
runs. It is committed before the response leaves, without waiting for the disk
(``audit.services.entries_write``). A failed insert is logged as a warning naming no
person and the response goes out as it is.

The entry is written whatever the answer (200, 403, 404): a refused attempt on a
case is worth recording too.
"""

from __future__ import annotations

import logging

from django.db.models import CharField, Subquery, Value
from django.db.models.functions import Coalesce

from audit.registry import CHANGE, EXPORT, VIEW, Audited, case_lookup, int_argument, registered
from audit.services import entries_write, entry_from_request

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The words of a case page no app registered (the namespace's case lookup still finds the case).
GENERAL = Audited(VIEW, "Opened a case page")
# Report exports name no case: recorded by URL name, whatever the reports app calls them.
EXPORT_WORDS = ("csv", "pdf", "export")


def _case_fields(namespace: str, rule: Audited, kwargs: dict) -> dict:
    """The entry's case fields, as subqueries the INSERT resolves (no query of their own)."""
    case_of = case_lookup(namespace, rule)
    rows = case_of(kwargs) if case_of is not None else None
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
    rule = registered(namespace, name)
    if rule is not None:
        return rule
    if case_lookup(namespace, GENERAL) is not None and "reference" in match.kwargs:
        # A case page added later without registering is still recorded, in general words.
        return Audited(VIEW, f"Opened a case page ({name})"[:200], f"Changed the case ({name})"[:200])
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
            fields = _case_fields(match.namespace, rule, match.kwargs)
            if rule.object_kwarg and rule.object_kwarg in match.kwargs:
                fields["object_kind"] = rule.object_kind
                fields["object_id"] = int_argument(match.kwargs[rule.object_kwarg])
            entry = entry_from_request(
                request,
                action=rule.action if reading or rule.action == EXPORT else CHANGE,
                description=rule.reading if reading else (rule.posting or rule.reading),
                status_code=response.status_code,
                **fields,
            )
            # Before the response leaves, without waiting for the disk (audit.services says why that is safe).
            entries_write(entry.save)
        except Exception as error:  # noqa: BLE001 - the audit must never break the response
            logger.warning(
                "audit entry not written (%s) for %s %s",
                type(error).__name__,
                request.method,
                getattr(request.resolver_match, "view_name", ""),
            )
