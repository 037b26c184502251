"""Writing audit entries (the middleware writes most; these are for work no URL names a case in)."""

from __future__ import annotations

import ipaddress
import logging

from django.db import DatabaseError

from audit.models import AuditEntry
from jpdit_complaints.network import client_ip

logger = logging.getLogger(__name__)


def request_address(request) -> str | None:
    """The client's address as the rate limit and django-axes see it (TRUSTED_PROXY_COUNT), if valid."""
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def entry_from_request(request, *, action: str, description: str, status_code: int | None = None, **fields):
    """An unsaved entry for ``request`` (who, from where, method, path without its query string)."""
    user = request.user
    return AuditEntry(
        user_id=user.pk,
        username=user.get_username()[:150],
        action=action,
        description=description[:200],
        ip_address=request_address(request),
        method=request.method[:10],
        path=request.path[:500],
        url_name=(request.resolver_match.view_name if request.resolver_match else "")[:100],
        status_code=status_code,
        **fields,
    )


def audit_cases(request, *, action: str, description: str, complaints, status_code: int | None = 200) -> int:
    """One entry per case (one INSERT for all), for work that touches several cases at once.

    Never raises: a failed write is logged (without personal data) and the work goes on.
    """
    entries = [
        entry_from_request(
            request,
            action=action,
            description=description,
            status_code=status_code,
            complaint_id=complaint.pk,
            reference=complaint.reference,
        )
        for complaint in complaints
    ]
    if not entries:
        entries = [entry_from_request(request, action=action, description=description, status_code=status_code)]
    try:
        AuditEntry.objects.bulk_create(entries)
    except DatabaseError as error:
        logger.warning("audit entry not written (%s) for %s %s", type(error).__name__, request.method, request.path)
        return 0
    return len(entries)
