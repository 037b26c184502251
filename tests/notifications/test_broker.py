"""A broker that is down or hangs never holds up a client: the complaint is saved, the message waits."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from django.utils import timezone

from cases import services as case_services
from cases.models import Complaint
from notifications import services
from notifications.models import OutboundMessage
from tests import services as test_services

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
# The promise to the client: saved and confirmed within a second.
LIMIT_SECONDS = 1.0


class SilentServer:
    """A TCP server that accepts connections and never says a word: a hung broker."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def warm_up(details, broker_url) -> None:
    """Pay the one-time costs of a fresh process (loading the Redis transport, the
    first queries) before the clock starts: the promise is about every request."""
    broker_url(CLOSED_PORT_URL)
    services.enqueue_delivery(0)
    case_services.complaint_submit(details=details)  # its on-commit never runs: the test's transaction rolls back


def submit_and_commit(details, django_capture_on_commit_callbacks) -> tuple[Complaint, float]:
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        complaint = case_services.complaint_submit(details=details)
    elapsed = time.monotonic() - started
    assert len(callbacks) == 1  # the delivery really was attempted on commit
    return complaint, elapsed


def test_submit_returns_within_a_second_when_the_broker_is_down(
    broker_url, details, django_capture_on_commit_callbacks, caplog
):
    warm_up(details, broker_url)
    broker_url(CLOSED_PORT_URL)
    caplog.set_level(logging.WARNING, logger="notifications.services")

    complaint, elapsed = submit_and_commit(details, django_capture_on_commit_callbacks)

    assert elapsed < LIMIT_SECONDS
    assert Complaint.objects.filter(pk=complaint.pk, status=Complaint.Status.RECEIVED).exists()
    message = OutboundMessage.objects.get(complaint=complaint)
    assert message.state == OutboundMessage.State.PENDING
    assert f"message {message.pk} left for the outbox sweep" in caplog.text


def test_submit_returns_within_a_second_when_the_broker_hangs(
    broker_url, silent_server, details, django_capture_on_commit_callbacks
):
    warm_up(details, broker_url)
    broker_url(f"redis://127.0.0.1:{silent_server.port}/0")

    complaint, elapsed = submit_and_commit(details, django_capture_on_commit_callbacks)

    assert silent_server.accepted, "the publisher never reached the hung broker"
    assert elapsed < LIMIT_SECONDS
    assert Complaint.objects.filter(pk=complaint.pk).exists()
    assert OutboundMessage.objects.get(complaint=complaint).state == OutboundMessage.State.PENDING


def test_enqueue_reports_failure_instead_of_raising_when_the_broker_hangs(broker_url, silent_server):
    broker_url(f"redis://127.0.0.1:{silent_server.port}/0")
    started = time.monotonic()
    assert services.enqueue_delivery(12345) is False
    assert time.monotonic() - started < LIMIT_SECONDS


def test_the_sweep_queues_the_waiting_message_once_the_broker_is_back(
    broker_url, details, django_capture_on_commit_callbacks
):
    broker_url(CLOSED_PORT_URL)
    complaint, _ = submit_and_commit(details, django_capture_on_commit_callbacks)
    message = OutboundMessage.objects.get(complaint=complaint)

    broker_url("memory://")
    later = timezone.now() + services.sweep_grace()
    assert services.messages_send_pending(now=later) == 1
    message.refresh_from_db()
    assert message.next_attempt_at > later  # not queued again by the next sweep


def test_publishes_to_one_broker_share_one_producer_pool(broker_url):
    from notifications.tasks import deliver_message

    broker_url("memory://")
    app = deliver_message.app
    assert services.enqueue_delivery(1) is True
    assert services.enqueue_delivery(2) is True
    pool = services._publisher_pool(app)
    assert services._publisher_pool(app) is pool
    broker_url(CLOSED_PORT_URL)
    assert services._publisher_pool(app) is not pool  # another broker: its own pool and timeouts


@pytest.mark.redis
def test_delivery_is_published_to_a_real_redis(broker_url):
    import redis
    from django.conf import settings

    url = test_services.redis_url()
    broker_url(url)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    client = redis.Redis.from_url(url)
    client.delete(queue)
    try:
        assert services.enqueue_delivery(424242) is True
        assert client.llen(queue) == 1
    finally:
        client.delete(queue)
