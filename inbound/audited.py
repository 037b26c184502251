"""Which email pages the audit trail records (registered with ``audit.registry`` in ``InboundConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from audit.registry import DOWNLOAD, VIEW, Audited, int_argument
from cases.models import Complaint
from inbound.models import InboundEmail


def _case_of_email(kwargs: Mapping[str, Any]) -> QuerySet | None:
    pk = int_argument(kwargs.get("email_id"))
    if pk is None:
        return None
    return Complaint.objects.filter(pk__in=InboundEmail.objects.filter(pk=pk).values("complaint_id"))


def _email(reading: str, posting: str = "", action: str = VIEW) -> Audited:
    return Audited(action, reading, posting, "email_id", "email", case_of=_case_of_email)


STAFF = {
    "email": _email("Read an email to complaints@ or appeals@"),
    "email_download": _email("Downloaded an email as it arrived", action=DOWNLOAD),
    "email_open": _email("Opened the email form", "Opened an email as a complaint"),
    "email_attach": _email("Opened the email form", "Added an email to a case"),
    "email_appeal": _email("Opened the email form", "Logged an email as an appeal"),
    "email_not_a_complaint": _email("Opened the email form", "Marked an email not a complaint"),
    "email_release": _email("Opened the email form", "Released an email to be read again"),
}
