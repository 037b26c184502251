"""Readiness (/staff/readyz/) and the administrator's Operations page: failed and bounced emails, the outbox
backlog, the deadline sweep's last run (issue 19, point 7)."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from notifications import services
from notifications.models import MessageAction, OutboundMessage
from procedure.sweep import deadlines_sweep
from tests.factories import ComplaintFactory, UserFactory, lead

pytestmark = pytest.mark.django_db

READYZ = reverse("staff:readyz")


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(services, "enqueue_delivery", lambda message_id: calls.append(message_id) or True)
    return calls


@pytest.fixture
def administrator(client):
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    return user


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def message_in(state, complaint=None, **fields) -> OutboundMessage:
    complaint = complaint or ComplaintFactory()
    message = services.message_queue(
        kind="client_link", dedupe_key=f"test:{complaint.pk}:{state}", to_email=complaint.email, complaint=complaint
    )
    OutboundMessage.objects.filter(pk=message.pk).update(state=state, **fields)
    message.refresh_from_db()
    return message


# --- readiness ----------------------------------------------------------------------------------


def test_readyz_tells_an_anonymous_caller_only_that_the_product_is_ready(client):
    response = client.get(READYZ)
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_answers_503_when_the_mail_relay_is_unreachable_and_names_it_only_to_an_administrator(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    anonymous = client.get(READYZ)
    assert anonymous.status_code == 503
    assert anonymous.json() == {"status": "not ready"}

    client.force_login(UserFactory(is_superuser=True))
    details = client.get(READYZ)
    assert details.status_code == 503
    checks = details.json()["checks"]
    assert checks["mail_relay"].startswith("Unavailable")
    assert {name: outcome for name, outcome in checks.items() if name != "mail_relay"} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "storage": "ok",
    }


def test_readyz_answers_503_when_the_broker_is_unreachable(client):
    from jpdit_complaints.celery import app

    configured = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    try:
        response = client.get(READYZ)
    finally:
        app.conf.broker_url = configured
    assert response.status_code == 503


def test_readyz_gives_an_administrator_the_oldest_unsent_email_and_the_last_sweep_without_personal_data(
    client, administrator, enqueued
):
    complaint = ComplaintFactory(email="ada.lovelace@example.org", name="Ada Lovelace")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.message_queue(kind="client_link", dedupe_key="test:old", to_email=complaint.email, complaint=complaint)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        deadlines_sweep()
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        response = client.get(READYZ)
    body = response.json()
    assert body["outbox"] == {"pending": 1, "oldest_pending_age_seconds": 25 * 60}
    assert body["deadline_sweep"]["age_seconds"] == 15 * 60
    assert body["deadline_sweep"]["counts"]["messages_queued"] >= 1
    assert "ada.lovelace" not in response.content.decode()
    assert "Lovelace" not in response.content.decode()
    assert complaint.reference not in response.content.decode()


def test_the_sweep_records_when_it_last_ran_and_what_it_did():
    from procedure.sweep import last_sweep

    assert last_sweep() is None
    report = deadlines_sweep()
    sweep = last_sweep()
    assert sweep is not None
    assert sweep.last_run_at is not None
    assert sweep.last_run_counts == report.counts()


# --- resend and mark handled -------------------------------------------------------------------


def test_resending_a_failed_email_puts_it_back_in_the_outbox_once_and_records_who(
    enqueued, django_capture_on_commit_callbacks
):
    admin = UserFactory(is_superuser=True)
    message = message_in(OutboundMessage.State.FAILED, attempts=services.MAX_ATTEMPTS, last_error="SMTPDataError")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_resend(message_id=message.pk, user=admin)
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboundMessage.State.PENDING, 0)
    assert enqueued == [message.pk]
    action = MessageAction.objects.get(message=message)
    assert (action.kind, action.actor, action.resent_as_id) == (MessageAction.Kind.RESENT, admin, message.pk)

    with pytest.raises(services.OutboxRefused):
        services.message_resend(message_id=message.pk, user=admin)  # a second click: already back in the outbox
    assert MessageAction.objects.count() == 1
    assert enqueued == [message.pk]


def test_resending_a_bounced_email_queues_one_new_email_and_takes_the_bounce_off_the_list(enqueued):
    from notifications.selectors import messages_needing_attention

    admin = UserFactory(is_superuser=True)
    bounced = message_in(OutboundMessage.State.BOUNCED, bounce_status="5.2.2", sent_at=timezone.now())
    resent = services.message_resend(message_id=bounced.pk, user=admin)
    assert resent.pk != bounced.pk
    assert (resent.state, resent.to_email, resent.kind) == ("pending", bounced.to_email, bounced.kind)
    assert list(messages_needing_attention()) == []
    with pytest.raises(services.OutboxRefused):
        services.message_resend(message_id=bounced.pk, user=admin)
    assert OutboundMessage.objects.filter(dedupe_key=f"resend:{bounced.public_id.hex}").count() == 1


def test_marking_an_email_handled_records_who_and_changes_nothing_else():
    admin = UserFactory(is_superuser=True)
    message = message_in(OutboundMessage.State.FAILED, attempts=12)
    services.message_mark_handled(message_id=message.pk, user=admin)
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.FAILED
    assert message.handled_at is not None
    assert MessageAction.objects.get(message=message).kind == MessageAction.Kind.HANDLED
    with pytest.raises(services.OutboxRefused):
        services.message_mark_handled(message_id=message.pk, user=admin)


def test_only_an_administrator_may_resend_or_mark_handled():
    from django.core.exceptions import PermissionDenied

    message = message_in(OutboundMessage.State.FAILED)
    with pytest.raises(PermissionDenied):
        services.message_resend(message_id=message.pk, user=lead())
    with pytest.raises(PermissionDenied):
        services.message_mark_handled(message_id=message.pk, user=lead())
    message.refresh_from_db()
    assert (message.state, message.handled_at) == (OutboundMessage.State.FAILED, None)
    assert not MessageAction.objects.exists()


def test_a_sent_email_cannot_be_resent_or_marked_handled():
    admin = UserFactory(is_superuser=True)
    message = message_in(OutboundMessage.State.SENT)
    for act in (services.message_resend, services.message_mark_handled):
        with pytest.raises(services.OutboxRefused):
            act(message_id=message.pk, user=admin)
    assert not MessageAction.objects.exists()


# --- the page ---------------------------------------------------------------------------------


def test_the_operations_page_lists_failed_and_bounced_emails_with_their_case_and_error(client, administrator):
    failed = message_in(OutboundMessage.State.FAILED, attempts=12, last_error="SMTPRecipientsRefused")
    bounced = message_in(OutboundMessage.State.BOUNCED, bounce_status="5.1.1", bounced_at=timezone.now())
    message_in(OutboundMessage.State.SENT)
    page = client.get(reverse("staff:operations")).content.decode()
    assert failed.complaint.reference in page
    assert "SMTPRecipientsRefused" in page
    assert bounced.complaint.reference in page
    assert "5.1.1" in page
    assert page.count('>Resend<span class="visually-hidden">') == 2  # each button names its email for a screen reader
    assert failed.to_email not in page
    assert "Emails waiting to be sent" in page


def test_resending_from_the_page_is_recorded_in_the_case_audit_trail(client, administrator, enqueued):
    message = message_in(OutboundMessage.State.FAILED, attempts=12)
    response = client.post(reverse("staff:message_resend", args=[message.pk]))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(complaint=message.complaint)
    assert entry.description == "Sent a failed or bounced email again"
    assert (entry.object_kind, entry.object_id) == ("email", message.pk)
    again = client.post(reverse("staff:message_handled", args=[message.pk]), follow=True)
    assert "already been dealt with" in again.content.decode()
    assert MessageAction.objects.filter(message=message).count() == 1
