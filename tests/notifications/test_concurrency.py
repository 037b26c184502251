"""Two workers running the same delivery at once send one email (the row lock decides)."""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail
from django.db import connection

from cases import services as case_services
from cases.models import Complaint
from notifications import services
from notifications.models import OutboundMessage
from tests.factories import lead, manager


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


HOLD_SECONDS = 15


@pytest.mark.postgres
def test_a_slow_mail_relay_keeps_nobody_waiting_and_the_email_still_goes_once(transactional_db, settings, details):
    """The relay holds the acknowledgement's DATA for 15 s; meanwhile a lead reassigns the same case at once.

    Sending locks no row (notifications.services.message_deliver): the case is free while the
    relay takes its time, and the email is recorded, with the case acknowledged, once it answers.
    """
    from tests.stack import MailServer

    relay = MailServer().start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", relay.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = HOLD_SECONDS * 3
        complaint = case_services.complaint_submit(details=details)
        message = OutboundMessage.objects.get(complaint=complaint)
        boss, worker = lead(), manager()
        relay.hold()
        results: list[str] = []

        def deliver() -> None:
            try:
                results.append(services.message_deliver(message.pk))
            finally:
                connection.close()

        sender = threading.Thread(target=deliver)
        sender.start()
        assert relay.held.wait(timeout=10), "the relay never got the email"
        release = threading.Timer(HOLD_SECONDS, relay.release)
        release.start()

        started = time.monotonic()
        case_services.complaint_assign(actor=boss, complaint=Complaint.objects.get(pk=complaint.pk), assignee=worker)
        took = time.monotonic() - started

        sender.join(timeout=HOLD_SECONDS * 3)
        release.cancel()
    finally:
        relay.stop()

    assert took < 1.0, f"the reassignment waited {took:.1f} s for the mail relay"
    assert not sender.is_alive()
    assert results == ["sent"]
    assert len(relay.about(complaint.reference)) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboundMessage.State.SENT, 1)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.assignee == worker
