"""The Celery worker keeps its database connection between tasks, and replaces one PostgreSQL dropped (issue 21).

A real worker process (tests/notifications/test_real_worker.py's); not date-sensitive, so outside the folders CI
runs again on a travelled clock.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection

from cases import services as case_services
from notifications.models import OutboundMessage
from tests.notifications import test_real_worker as real_worker

# The real worker's fixtures, as that module defines them.
worker_env = real_worker.worker_env
celery_worker_process = real_worker.celery_worker_process
wait_until_sent = real_worker.wait_until_sent


@pytest.fixture
def details() -> case_services.ComplaintDetails:
    return case_services.ComplaintDetails(
        name="Ada Lovelace",
        email="ada@example.com",
        description="The engineer arrived two days late and the firewall is still misconfigured.",
    )


def worker_backends() -> list[tuple[int, object]]:
    """(pid, started) of the other sessions on this test database: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return list(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.parametrize("worker_env", [{"CONN_HEALTH_CHECKS": "true"}])  # as docker-compose.yml sets it
def test_the_worker_keeps_one_database_connection_across_tasks_and_replaces_one_that_died(
    celery_worker_process, details
):
    mail_dir, log_path = celery_worker_process
    messages = []
    for n in range(4):
        complaint = case_services.complaint_submit(details=dataclasses.replace(details, description=f"Complaint {n}."))
        messages.append(OutboundMessage.objects.get(complaint=complaint))
        wait_until_sent(messages[-1], mail_dir, log_path)

    # One connection served all four acknowledgements (one task each) and is still open, idle, afterwards;
    # Celery's default would have closed it after each task, leaving none.
    backends = worker_backends()
    assert len(backends) == 1, backends
    (pid, started), first_sent = backends[0], OutboundMessage.objects.get(pk=messages[0].pk).sent_at
    assert started < first_sent

    # PostgreSQL drops it (a restart, an administrator): the next task checks it, reconnects and sends once.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    complaint = case_services.complaint_submit(
        details=dataclasses.replace(details, description="After the connection died.")
    )
    message = OutboundMessage.objects.get(complaint=complaint)
    assert len(wait_until_sent(message, mail_dir, log_path)) == 1
    message.refresh_from_db()
    assert message.attempts == 1  # no failed attempt: the health check replaced the connection first
    assert [p for p, _ in worker_backends()] != [pid]
