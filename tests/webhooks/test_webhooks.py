"""Webhooks (issue 20, point 7), against a receiving server the tests start (tests/webhooks/receiver.py).

Each event goes to the endpoints that want it, once, signed (checked with the very code docs/webhooks.md
gives receivers), through the outbox: never in the request, retried with backoff when the receiver is down
or refuses, then failed and on the Operations page; no personal data unless the endpoint may have it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from appeals import services as appeal_services
from cases import services as case_services
from cases.models import ComplaintEvent
from notifications import services as outbox
from notifications import webhooks
from notifications.admin import WebhookEndpointForm
from notifications.models import OutboundMessage, WebhookEndpoint
from procedure import retention
from tests.appeals.helpers import deliver, lodged, responded
from tests.factories import AcknowledgedComplaintFactory, UserFactory, director, lead, manager
from tests.webhooks.receiver import Receiver, free_port

pytestmark = pytest.mark.django_db

ALL_EVENTS = [
    "complaint.received",
    "complaint.acknowledged",
    "complaint.outcome_issued",
    "appeal.lodged",
    "appeal.decided",
    "deadline.breached",
]
CLIENT = {
    "name": "Zebedee Quixote",
    "email": "zebedee.quixote@example.org",
    "phone": "01494 123456",
    "organisation": "Quixotic Holdings",
}
DESCRIPTION = "A uniquely worded complaint about the quantum router in the basement."


def documented_verify():
    """The receiver's check exactly as docs/webhooks.md gives it (its Python block, run)."""
    text = (Path(__file__).resolve().parents[2] / "docs/webhooks.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)[1]
    names: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), names)  # noqa: S102 - our own documentation's example
    return names["verify"]


verify = documented_verify()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def enqueued(monkeypatch):
    """The ids handed to the broker (nothing is published in these tests)."""
    calls: list[int] = []
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda message_id: calls.append(message_id) or True)
    return calls


def endpoint(url: str, events=None, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=fields.pop("name", f"system-{WebhookEndpoint.objects.count()}"),
        url=url,
        events=ALL_EVENTS if events is None else events,
        **fields,
    )


def deliveries(to: WebhookEndpoint | None = None):
    rows = OutboundMessage.objects.filter(endpoint__isnull=False).order_by("pk")
    return rows.filter(endpoint=to) if to is not None else rows


def deliver_webhooks() -> list[str]:
    """What the worker would do with every waiting webhook delivery."""
    return [outbox.message_deliver(row.pk) for row in deliveries().filter(state=OutboundMessage.State.PENDING)]


def body_of(delivery) -> dict:
    return json.loads(delivery.body)


# --- every event, to whoever wants it, once, signed -------------------------------------------------


def test_each_event_of_a_case_reaches_the_endpoints_that_want_it_once_and_signed(
    receiver, enqueued, django_capture_on_commit_callbacks
):
    everything = endpoint(receiver.url)
    decisions_only = endpoint(receiver.url + "?decisions", events=["appeal.decided"])
    worker = manager()
    judge = director()

    with django_capture_on_commit_callbacks(execute=True):
        complaint = case_services.complaint_submit(
            details=case_services.ComplaintDetails(description=DESCRIPTION, **CLIENT)
        )
    assert len(enqueued) == 2  # the acknowledgement email and the webhook, each queued once it committed
    assert receiver.received == []  # never posted in the request
    deliver(kind="complaint_acknowledgement")
    complaint = case_services.complaint_start_investigation(actor=worker, complaint=complaint)
    complaint = case_services.complaint_issue_outcome(
        actor=worker, complaint=complaint, outcome="not_upheld", findings="Findings.", reasons="Reasons."
    )
    appeal = lodged(complaint)
    appeal_services.appeal_decide(
        actor=judge, appeal=appeal, decision="original_decision_upheld", reasons="The investigation was fair."
    )

    assert deliver_webhooks() == ["sent"] * 6
    assert deliver_webhooks() == []  # nothing left: each once
    kinds = {
        "complaint.received": ComplaintEvent.Kind.SUBMITTED,
        "complaint.acknowledged": ComplaintEvent.Kind.ACKNOWLEDGED,
        "complaint.outcome_issued": ComplaintEvent.Kind.OUTCOME_ISSUED,
        "appeal.lodged": ComplaintEvent.Kind.APPEAL_RECEIVED,
        "appeal.decided": ComplaintEvent.Kind.APPEAL_DECIDED,
    }
    got = [(d.path, body_of(d)) for d in receiver.received]
    assert [body["type"] for path, body in got if path == "/hooks/jpdit"] == list(kinds)
    assert [body["type"] for path, body in got if path != "/hooks/jpdit"] == ["appeal.decided"]
    for _, body in got:
        event = ComplaintEvent.objects.get(pk=body["id"])
        assert event.kind == kinds[body["type"]]
        assert event.complaint_id == complaint.pk
        assert body["complaint"]["reference"] == complaint.reference
        assert body["complaint"]["id"] == str(complaint.public_id)
    decided = got[-1][1]
    assert decided["appeal"]["decision"] == "original_decision_upheld"
    assert decided["complaint"]["status"] == "closed"
    for delivery in receiver.received:
        secret = (decisions_only if "decisions" in delivery.path else everything).secret
        assert verify(secret, delivery.headers, delivery.body)
        assert not verify(secret, delivery.headers, delivery.body + b" ")  # a changed body fails
        assert not verify("whsec_another", delivery.headers, delivery.body)
        assert delivery.headers["Content-Type"] == "application/json"
        assert delivery.headers["X-JPDIT-Event"] == body_of(delivery)["type"]


def test_a_signature_too_old_is_refused_by_the_documented_check(receiver):
    hook = endpoint(receiver.url, events=["complaint.acknowledged"])
    complaint = AcknowledgedComplaintFactory()
    event = ComplaintEvent.objects.create(complaint=complaint, kind="acknowledged", actor_label="System", summary="x")
    from cases import webhooks as case_webhooks

    case_webhooks.emit(case_webhooks.ACKNOWLEDGED, event, complaint)
    assert deliver_webhooks() == ["sent"]
    (delivery,) = receiver.received
    signed_at = int(delivery.headers["X-JPDIT-Timestamp"])
    assert verify(hook.secret, delivery.headers, delivery.body, now=signed_at + 299)
    assert not verify(hook.secret, delivery.headers, delivery.body, now=signed_at + 301)


# --- personal data ---------------------------------------------------------------------------------


def test_no_personal_data_unless_the_endpoint_may_receive_it(receiver):
    plain = endpoint(receiver.url + "?plain", events=["complaint.outcome_issued"])
    trusted = endpoint(receiver.url + "?trusted", events=["complaint.outcome_issued"], may_receive_personal_data=True)
    complaint = responded(description=DESCRIPTION, **CLIENT)

    assert deliver_webhooks() == ["sent", "sent"]
    by_path = {d.path: d for d in receiver.received}
    withheld = by_path["/hooks/jpdit?plain"].body.decode()
    for secret in [*CLIENT.values(), DESCRIPTION, "Reasons", "engineer"]:
        assert secret not in withheld
    assert "client" not in json.loads(withheld)
    assert complaint.reference in withheld
    assert body_of(by_path["/hooks/jpdit?trusted"])["client"] == CLIENT
    assert verify(trusted.secret, by_path["/hooks/jpdit?trusted"].headers, by_path["/hooks/jpdit?trusted"].body)
    # What the outbox keeps of either is the body without personal data.
    for row in deliveries():
        assert CLIENT["name"] not in row.body_text
        assert CLIENT["name"] not in json.dumps(row.context)
    assert deliveries(plain).get().body_text == withheld


def test_an_anonymised_case_tells_an_allowed_endpoint_only_what_it_still_holds(receiver):
    endpoint(receiver.url, events=["complaint.outcome_issued"], may_receive_personal_data=True)
    complaint = responded(**CLIENT)
    retention.complaint_anonymise_on_request(actor=lead(), complaint=complaint, reason="The client asked.")

    assert deliver_webhooks() == ["sent"]  # the waiting delivery goes on (it holds no personal data)
    assert CLIENT["name"] not in receiver.received[0].body.decode()


# --- exactly once ------------------------------------------------------------------------------------


def test_two_deliveries_of_the_same_row_post_it_once(receiver):
    endpoint(receiver.url, events=["complaint.outcome_issued"])
    responded()
    row = deliveries().get()

    assert outbox.message_deliver(row.pk) == "sent"
    assert outbox.message_deliver(row.pk) == "already-sent"
    assert len(receiver.received) == 1
    row.refresh_from_db()
    assert row.state == OutboundMessage.State.SENT
    assert row.attempts == 1


def test_a_delivery_another_worker_is_posting_is_left_to_it(receiver):
    """The claim is the outbox's own (tests/notifications/test_concurrency.py races it on PostgreSQL)."""
    endpoint(receiver.url, events=["complaint.outcome_issued"])
    responded()
    row = deliveries().get()
    deliveries().update(claimed_until=timezone.now() + outbox.sending_timeout())  # another worker's claim

    assert outbox.message_deliver(row.pk) == "in-progress"
    assert receiver.received == []


def test_an_event_queues_nothing_for_endpoints_that_do_not_want_it_nor_for_one_switched_off(receiver):
    endpoint(receiver.url, events=["appeal.decided"])
    endpoint(receiver.url, events=ALL_EVENTS, active=False)
    responded()
    assert not deliveries().exists()


def test_a_delivery_waiting_for_an_endpoint_switched_off_since_is_not_posted(receiver):
    hook = endpoint(receiver.url, events=["complaint.outcome_issued"])
    responded()
    hook.active = False
    hook.save()

    assert deliver_webhooks() == ["dropped"]
    assert receiver.received == []
    row = deliveries().get()
    assert row.state == OutboundMessage.State.FAILED
    assert row.handled_at is not None


# --- the receiver down, refusing, redirecting ----------------------------------------------------------


def test_a_receiver_that_is_down_gets_the_event_once_it_is_up_again(enqueued):
    port = free_port()
    receiver = Receiver(port=port)
    endpoint(receiver.url, events=["complaint.outcome_issued"])
    responded()
    row = deliveries().get()

    with pytest.raises(outbox.DeliveryFailed):
        outbox.message_deliver(row.pk)  # connection refused
    row.refresh_from_db()
    assert row.state == OutboundMessage.State.PENDING
    assert row.attempts == 1
    assert row.last_error == "ConnectionError"
    wait = row.next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < wait <= outbox.backoff_delay(1)
    assert outbox.messages_send_pending() == 0  # not due yet: the backoff holds it back

    receiver.start()
    try:
        with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
            assert outbox.messages_send_pending() == 1  # the outbox sweep queues it again ...
            assert enqueued == [row.pk]
            assert outbox.message_deliver(row.pk) == "sent"  # ... and the worker posts it
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    row.refresh_from_db()
    assert row.state == OutboundMessage.State.SENT
    assert row.attempts == 2


def test_a_receiver_that_keeps_refusing_ends_on_the_operations_page_whence_it_is_resent(receiver, client, enqueued):
    receiver.status = 503
    endpoint(receiver.url, events=["complaint.outcome_issued"], name="The CRM")
    complaint = responded()
    row = deliveries().get()
    with pytest.raises(outbox.DeliveryFailed):
        outbox.message_deliver(row.pk)
    row.refresh_from_db()
    assert row.last_error == "HTTP 503"
    assert row.state == OutboundMessage.State.PENDING
    OutboundMessage.objects.filter(pk=row.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
    with pytest.raises(outbox.DeliveryFailed):
        outbox.message_deliver(row.pk)
    row.refresh_from_db()
    assert row.state == OutboundMessage.State.FAILED

    client.force_login(UserFactory(is_superuser=True))
    page = client.get(reverse("staff:operations")).content.decode()
    assert "(to The CRM)" in page
    assert complaint.reference in page
    assert "HTTP 503" in page
    client.post(reverse("staff:message_resend", args=[row.pk]))
    receiver.status = 200
    assert outbox.message_deliver(row.pk) == "sent"
    assert [d.path for d in receiver.received] == ["/hooks/jpdit"] * 3  # refused twice, then accepted


def test_a_redirect_is_not_followed_and_counts_as_refused(receiver):
    target = Receiver().start()
    try:
        receiver.status, receiver.location = 302, target.url
        endpoint(receiver.url, events=["complaint.outcome_issued"])
        responded()
        with pytest.raises(outbox.DeliveryFailed):
            deliver_webhooks()
        assert target.received == []
    finally:
        target.stop()
    assert deliveries().get().last_error == "HTTP 302"


# --- where webhooks may go ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.0.10/",
    ],
)
def test_production_refuses_private_and_loopback_addresses(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    assert "private, loopback or reserved" in webhooks.address_problem(url)
    form = WebhookEndpointForm(data={"name": "x", "url": url, "events": ["appeal.decided"]})
    assert not form.is_valid()
    assert "url" in form.errors


def test_only_http_and_https_addresses_without_credentials(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    assert webhooks.address_problem("https://93.184.215.14/hook") == ""  # a public address (no lookup: a literal)
    assert "http://" in webhooks.address_problem("ftp://93.184.215.14/hook")
    assert "password" in webhooks.address_problem("https://user:secret@93.184.215.14/hook")


def test_an_address_refused_since_it_was_saved_is_not_posted_to(receiver, settings):
    endpoint(receiver.url, events=["complaint.outcome_issued"])
    responded()
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(outbox.DeliveryFailed):
        deliver_webhooks()
    assert receiver.received == []
    assert "private, loopback or reserved" in deliveries().get().last_error


def test_an_unknown_event_is_refused_before_anything_is_written():
    with pytest.raises(LookupError, match=r"complaint\.typo"):
        webhooks.deliveries(
            webhooks.Event(kind="complaint.typo", id=1, occurred_at=timezone.now(), complaint_id=None, facts={}),
            now=timezone.now(),
            first_attempt_at=timezone.now(),
        )


def test_the_admin_form_offers_every_event_and_the_endpoint_gets_a_secret_of_its_own():
    form = WebhookEndpointForm(data={"name": "CRM", "url": "https://crm.example/hook", "events": ALL_EVENTS})
    assert [value for value, _ in form.fields["events"].choices] == ALL_EVENTS  # in a case's order
    assert form.is_valid(), form.errors
    first, second = form.save(), endpoint("https://other.example/hook")
    assert first.secret.startswith("whsec_")
    assert len(first.secret) > 40
    assert first.secret != second.secret
    assert "events" in WebhookEndpointForm(data={"name": "CRM2", "url": "https://x.example/", "events": ["no"]}).errors
