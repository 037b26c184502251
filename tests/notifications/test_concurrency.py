"""Two workers running the same delivery at once send one email (the row lock decides)."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from cases import services as case_services
from cases.models import Complaint
from notifications import services
from notifications.models import OutboundMessage


@pytest.mark.postgres
def test_two_workers_delivering_the_same_message_send_one_email(transactional_db, settings, details):
    # Slow enough that the second worker surely arrives while the first holds the lock.
    settings.EMAIL_BACKEND = "tests.notifications.backends.SlowLocmemBackend"
    complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint)
    barrier = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(services.message_deliver(message.pk))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    # The second finds the first's claim (or, if it comes later, the row sent): either way it sends nothing.
    assert sorted(results) in (["already-sent", "sent"], ["in-progress", "sent"])
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert message.attempts == 1
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.events.filter(kind="acknowledged").count() == 1
