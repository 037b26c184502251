"""The outbox: a message is recorded with its cause, queued on commit, and sent exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services as case_services
from cases.models import Complaint
from notifications import services, tasks, threading
from notifications.models import OutboundMessage
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

FAILING_BACKEND = "tests.notifications.backends.FailingSMTPBackend"


def queue_for(complaint, key="test:1", kind="client_link"):
    return services.message_queue(kind=kind, dedupe_key=key, to_email=complaint.email, complaint=complaint)


@pytest.fixture
def enqueued(monkeypatch):
    """Record the ids handed to the broker instead of publishing them."""
    calls: list[int] = []

    def fake_enqueue(message_id: int) -> bool:
        calls.append(message_id)
        return True

    monkeypatch.setattr(services, "enqueue_delivery", fake_enqueue)
    return calls


# --- queueing ----------------------------------------------------------------------


def test_queueing_twice_with_the_same_key_keeps_one_row():
    complaint = ComplaintFactory()
    first = queue_for(complaint, key="complaint:1:acknowledgement")
    second = queue_for(complaint, key="complaint:1:acknowledgement")
    assert second.pk == first.pk
    assert OutboundMessage.objects.filter(dedupe_key="complaint:1:acknowledgement").count() == 1


def test_delivery_is_queued_only_when_the_transaction_commits(enqueued, django_capture_on_commit_callbacks):
    complaint = ComplaintFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        message = queue_for(complaint)
        queue_for(complaint)  # the same key again: no second delivery
        assert enqueued == []  # nothing is published inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [message.pk]


def test_a_rolled_back_cause_leaves_no_message_and_no_delivery(enqueued, django_capture_on_commit_callbacks):
    complaint = ComplaintFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                queue_for(complaint)
                raise RuntimeError("the change that caused the message failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert enqueued == []
    assert not OutboundMessage.objects.exists()


def test_a_message_first_for_its_key_is_one_insert_queued_on_commit(enqueued, django_capture_on_commit_callbacks):
    complaint = ComplaintFactory()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        message = services.message_queue(
            kind="client_link",
            dedupe_key="complaint:new:1",
            to_email=complaint.email,
            complaint=complaint,
            first_for_key=True,
        )
    statements = [q["sql"] for q in queries.captured_queries if "outboundmessage" in q["sql"].lower()]
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith("INSERT")
    assert enqueued == [message.pk]


def test_a_broken_first_for_key_promise_fails_instead_of_queueing_twice(enqueued, django_capture_on_commit_callbacks):
    complaint = ComplaintFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = queue_for(complaint, key="complaint:9:acknowledgement")
    with pytest.raises(IntegrityError), django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.message_queue(
            kind="client_link",
            dedupe_key="complaint:9:acknowledgement",
            to_email=complaint.email,
            complaint=complaint,
            first_for_key=True,
        )
    assert list(OutboundMessage.objects.values_list("pk", flat=True)) == [first.pk]
    assert enqueued == [first.pk]


def test_a_submitted_complaint_has_exactly_one_acknowledgement_queued(enqueued, django_capture_on_commit_callbacks):
    details = case_services.ComplaintDetails(name="Ada Lovelace", email="ada@example.com", description="Late visit")
    with django_capture_on_commit_callbacks(execute=True):
        complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint)
    assert message.dedupe_key == f"complaint:{complaint.pk}:acknowledgement"
    assert message.kind == "complaint_acknowledgement"
    assert enqueued == [message.pk]


def test_a_new_message_waits_a_grace_period_before_the_sweep_takes_it():
    message = queue_for(ComplaintFactory())
    assert message.next_attempt_at >= timezone.now() + services.sweep_grace() - timedelta(seconds=5)


# --- delivery -------------------------------------------------------------------------


def test_deliver_sends_once_and_a_second_run_reports_already_sent():
    complaint = ComplaintFactory()
    message = queue_for(complaint)

    assert services.message_deliver(message.pk) == "sent"
    assert services.message_deliver(message.pk) == "already-sent"

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    # What went out is kept on the row.
    assert message.subject == mail.outbox[0].subject
    assert complaint.reference in message.body_text


def test_the_task_wraps_the_service_and_never_raises(settings):
    complaint = ComplaintFactory()
    message = queue_for(complaint)
    settings.EMAIL_BACKEND = FAILING_BACKEND
    assert tasks.deliver_message(message.pk) == "failed"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.deliver_message(message.pk) == "sent"
    assert tasks.deliver_message(message.pk) == "already-sent"
    assert len(mail.outbox) == 1


def test_a_message_that_was_given_up_is_not_sent():
    message = queue_for(ComplaintFactory())
    OutboundMessage.objects.filter(pk=message.pk).update(state=OutboundMessage.State.FAILED)
    assert services.message_deliver(message.pk) == "gave-up"
    assert mail.outbox == []


def test_every_attempt_carries_the_same_message_id_naming_the_case_by_a_signed_token(settings):
    complaint = ComplaintFactory()
    message = queue_for(complaint)
    expected = services.message_id_for(message)
    assert expected.startswith(f"<{message.public_id.hex}.{complaint.public_id.hex}.")
    assert expected.endswith("@jpditservices.com>")
    assert threading.case_public_id(expected) == complaint.public_id.hex
    services.message_deliver(message.pk)
    assert mail.outbox[0].extra_headers["Message-ID"] == expected
    assert mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-generated"  # no auto-responder answers it


def test_a_message_id_whose_case_token_was_tampered_with_names_no_case():
    complaint = ComplaintFactory()
    genuine = services.message_id_for(queue_for(complaint))
    other = ComplaintFactory().public_id.hex
    forged = genuine.replace(complaint.public_id.hex, other)
    assert threading.case_public_id(forged) is None
    assert threading.case_public_id("<not-ours@example.com>") is None


def test_a_second_delivery_while_another_worker_holds_the_claim_sends_nothing():
    message = queue_for(ComplaintFactory())
    OutboundMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() + timedelta(seconds=60))

    assert services.message_deliver(message.pk) == "in-progress"

    assert mail.outbox == []
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.PENDING
    assert message.attempts == 0


def test_a_claim_left_by_a_worker_that_died_runs_out_and_the_sweep_sends_the_message_again(enqueued):
    message = queue_for(ComplaintFactory())
    died_at = timezone.now() - services.sending_timeout() - timedelta(seconds=1)
    OutboundMessage.objects.filter(pk=message.pk).update(
        claimed_until=died_at + services.sending_timeout(), next_attempt_at=died_at + services.sending_timeout()
    )

    assert services.messages_send_pending() == 1  # due again once the claim ran out
    assert enqueued == [message.pk]
    assert services.message_deliver(message.pk) == "sent"
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.claimed_until is None


def test_a_claim_keeps_the_sweep_away_while_the_worker_sends(enqueued):
    message = queue_for(ComplaintFactory())
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    services._claim(message.pk)

    assert services.messages_send_pending() == 0
    message.refresh_from_db()
    assert message.next_attempt_at >= timezone.now() + services.sending_timeout() - timedelta(seconds=5)


def test_an_email_the_server_accepted_is_recorded_even_if_the_database_fails_at_that_moment(details, monkeypatch):
    from django.db import OperationalError

    complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint)
    real_mark_sent = services._mark_sent
    failures = iter([OperationalError("server closed the connection unexpectedly")])

    def mark_sent_once_failing(row, sent):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_mark_sent(row, sent)

    monkeypatch.setattr(services, "_mark_sent", mark_sent_once_failing)
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)

    assert services.message_deliver(message.pk) == "sent"

    assert len(mail.outbox) == 1  # sent once, not again when the record was retried
    message.refresh_from_db()
    complaint.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert message.message_id == mail.outbox[0].extra_headers["Message-ID"]
    assert message.subject == mail.outbox[0].subject
    # What sending records was recorded too: the complaint is acknowledged, once.
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.events.filter(kind="acknowledged").count() == 1
    assert services.message_deliver(message.pk) == "already-sent"


# --- failures, retries and giving up ------------------------------------------------------


def test_smtp_failure_leaves_the_complaint_received_and_the_message_pending(settings, details):
    complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint)
    settings.EMAIL_BACKEND = FAILING_BACKEND
    before = timezone.now()

    with pytest.raises(services.DeliveryFailed):
        services.message_deliver(message.pk)

    message.refresh_from_db()
    complaint.refresh_from_db()
    # The acknowledgement did not go out, so the complaint is not acknowledged.
    assert complaint.status == Complaint.Status.RECEIVED
    assert complaint.acknowledged_at is None
    assert complaint.outcome_due is None
    assert not complaint.events.filter(kind="acknowledged").exists()
    assert message.state == OutboundMessage.State.PENDING
    assert message.attempts == 1
    assert message.last_error == "SMTPException"  # the class only, never the server's text
    assert message.next_attempt_at >= before + services.backoff_delay(1)
    assert message.sent_at is None
    assert mail.outbox == []


def test_a_later_successful_run_sends_the_failed_message_once(settings, details):
    complaint = case_services.complaint_submit(details=details)
    message = OutboundMessage.objects.get(complaint=complaint)
    settings.EMAIL_BACKEND = FAILING_BACKEND
    with pytest.raises(services.DeliveryFailed):
        services.message_deliver(message.pk)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.message_deliver(message.pk) == "sent"
    assert services.message_deliver(message.pk) == "already-sent"

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    complaint.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert message.attempts == 2
    assert message.last_error == ""
    assert complaint.status == Complaint.Status.ACKNOWLEDGED


def test_after_max_attempts_the_message_is_marked_failed(settings):
    message = queue_for(ComplaintFactory())
    settings.EMAIL_BACKEND = FAILING_BACKEND
    for _ in range(services.MAX_ATTEMPTS):
        with pytest.raises(services.DeliveryFailed):
            services.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.attempts == services.MAX_ATTEMPTS
    assert message.state == OutboundMessage.State.FAILED
    # A failed message is out of the sweep's reach until staff act.
    assert message.pk not in services.messages_due_for_sending(now=timezone.now() + timedelta(days=30))


def test_backoff_doubles_and_is_capped_at_an_hour():
    delays = [services.backoff_delay(n) for n in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == timedelta(hours=1)
    assert delays == sorted(delays)


# --- the sweep ------------------------------------------------------------------------


def test_the_sweep_queues_only_due_pending_messages(enqueued):
    complaint = ComplaintFactory()
    now = timezone.now()
    due = queue_for(complaint, key="due")
    later = queue_for(complaint, key="later")
    sent = queue_for(complaint, key="sent")
    failed = queue_for(complaint, key="failed")
    OutboundMessage.objects.filter(pk__in=[due.pk, sent.pk, failed.pk]).update(
        next_attempt_at=now - timedelta(minutes=5)
    )
    OutboundMessage.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=5))
    OutboundMessage.objects.filter(pk=sent.pk).update(state=OutboundMessage.State.SENT)
    OutboundMessage.objects.filter(pk=failed.pk).update(state=OutboundMessage.State.FAILED)
    enqueued.clear()

    assert services.messages_send_pending(now=now) == 1
    assert enqueued == [due.pk]


def test_the_sweep_does_not_queue_a_message_again_while_it_waits_for_a_worker(enqueued):
    message = queue_for(ComplaintFactory())
    enqueued.clear()
    now = message.next_attempt_at
    assert services.messages_send_pending(now=now) == 1
    assert services.messages_send_pending(now=now + timedelta(seconds=60)) == 0
    assert services.messages_send_pending(now=now + services.sweep_grace()) == 1
    assert enqueued == [message.pk, message.pk]


def test_the_sweep_stops_at_the_first_broker_failure_and_leaves_the_rest_due(monkeypatch):
    complaint = ComplaintFactory()
    first, second = queue_for(complaint, key="a"), queue_for(complaint, key="b")
    calls: list[int] = []

    def broker_down(message_id: int) -> bool:
        calls.append(message_id)
        return False

    monkeypatch.setattr(services, "enqueue_delivery", broker_down)
    later = timezone.now() + services.sweep_grace()
    assert services.messages_send_pending(now=later) == 0
    assert calls == [first.pk]
    assert services.messages_due_for_sending(now=later) == [first.pk, second.pk]


def test_the_sweep_leaves_alone_a_backoff_set_by_a_failing_worker(monkeypatch):
    message = queue_for(ComplaintFactory())
    now = message.next_attempt_at
    backed_off = now + timedelta(minutes=30)

    def worker_fails_at_once(message_id: int) -> bool:
        # The worker picks the task up and records a failure before the sweep goes on.
        OutboundMessage.objects.filter(pk=message_id).update(next_attempt_at=backed_off, attempts=5)
        return True

    monkeypatch.setattr(services, "enqueue_delivery", worker_fails_at_once)
    services.messages_send_pending(now=now)
    message.refresh_from_db()
    assert message.next_attempt_at == backed_off
