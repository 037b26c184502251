"""Writing audit entries (the middleware writes most; these are for work no URL names a case in).

Every entry is written on the request path, before the response leaves: a web process that dies
after answering has lost nothing (tests/audit/test_audit_durability.py kills one). What it does not
do is wait for the disk. An entry that is the request's only write is committed with PostgreSQL's
asynchronous commit (``synchronous_commit`` off for that one transaction): the row is in the
database when the commit returns, and on disk within PostgreSQL's WAL writer delay (200 ms by default,
three times that at worst); only a crash of the database server itself in that moment could lose it,
and the database stays consistent whatever happens. This saves the disk flush that every page about a
case waited for (about 2 ms here: bench/RESULTS.md). ``AUDIT_SYNCHRONOUS_COMMIT=true`` waits for the
disk again. An entry written while the request is inside a transaction of its own joins it and is
committed with it (one commit, not two).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction

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


def entries_write(write: Callable[[], object]) -> None:
    """Run ``write`` (an entry's ``save``, a ``bulk_create``) as the rule above says: in the request's own
    transaction if it is in one, otherwise in one of its own that does not wait for the disk."""
    connection = connections[router.db_for_write(AuditEntry)]
    if connection.in_atomic_block or connection.vendor != "postgresql" or settings.AUDIT_SYNCHRONOUS_COMMIT:
        # Joining the request's transaction (committed with it), or in autocommit: a statement committed
        # (and flushed to disk) on its own.
        write()
        return
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            # Local to this transaction: the connection's next one commits as usual.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        write()


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
        entries_write(lambda: AuditEntry.objects.bulk_create(entries))
    except DatabaseError as error:
        logger.warning("audit entry not written (%s) for %s %s", type(error).__name__, request.method, request.path)
        return 0
    return len(entries)
