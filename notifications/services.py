"""Queue and deliver outgoing messages through the outbox.

``message_queue`` is called inside the transaction that causes a message: it
writes the outbox row and, only once that transaction commits, asks Celery to
send it. If the broker is down or slow the row is still there, and the periodic
sweep (``send_pending_messages``) queues it again; nothing is lost.

``message_deliver`` is the only code that sends: it locks the row, skips it if
already sent, renders, sends and marks it sent in one transaction. Two runs of
the same task therefore send once: the second waits for the lock, then finds
the row sent. A worker killed mid-send rolls back and the message stays pending.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.kinds import kind_of
from notifications.models import Letter, OutboundMessage
from notifications.rendering import render_email

logger = logging.getLogger(__name__)

# The task queued on commit normally sends at once; the sweep steps in only
# after this grace period (broker down, worker dead), so it rarely doubles up.
SWEEP_GRACE = timedelta(minutes=2)
# After this many failed attempts a message is marked failed and staff must act.
MAX_ATTEMPTS = 12
# Retry waits: 1, 2, 4 ... minutes, capped at an hour.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)


def backoff_delay(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def message_queue(
    *,
    kind: str,
    dedupe_key: str,
    to_email: str,
    complaint=None,
    context: dict[str, Any] | None = None,
    letter: Letter | None = None,
    client_visible: bool = True,
) -> OutboundMessage:
    """Record a message to send and queue its delivery when the transaction commits.

    Idempotent: a second call with the same ``dedupe_key`` returns the first row.
    """
    message, created = OutboundMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "to_email": to_email,
            "complaint": complaint,
            "context": context or {},
            "letter": letter,
            "client_visible": client_visible,
            "next_attempt_at": timezone.now() + SWEEP_GRACE,
        },
    )
    if created:
        message_id = message.pk
        transaction.on_commit(lambda: enqueue_delivery(message_id))
    return message


def enqueue_delivery(message_id: int) -> bool:
    """Ask a worker to send a message; never raises (the sweep is the safety net)."""
    from notifications.tasks import deliver_message

    try:
        deliver_message.apply_async(args=[message_id], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the outbox row waits for the sweep
        logger.warning("Broker unavailable; message %s left for the outbox sweep", message_id)
        return False
    return True


class DeliveryFailed(Exception):
    """Sending failed; the attempt is recorded and the task retries later."""


def message_deliver(message_id: int) -> str:
    """Send one outbox message exactly once. Returns what happened: sent, already-sent, gave-up."""
    try:
        with transaction.atomic():
            message = (
                OutboundMessage.objects.select_for_update().select_related("complaint", "letter").get(pk=message_id)
            )
            if message.state == OutboundMessage.State.SENT:
                return "already-sent"
            if message.state == OutboundMessage.State.FAILED:
                return "gave-up"
            _send(message)
            return "sent"
    except Exception as error:
        _record_failure(message_id, error)
        raise DeliveryFailed(f"message {message_id}: {type(error).__name__}") from error


def _send(message: OutboundMessage) -> None:
    kind = kind_of(message)
    context = {"message": message, "complaint": message.complaint, **message.context}
    context.update(kind.context_for(message))
    rendered = render_email(kind.template, context)
    message_id = message.message_id or make_msgid(idstring=message.public_id.hex, domain="jpditservices.com")
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        reply_to=[settings.COMPANY["complaints_email"]],
        headers={"Message-ID": message_id},
    )
    email.attach_alternative(rendered.html, "text/html")
    if message.letter is not None:
        with message.letter.file.open("rb") as pdf:
            email.attach(message.letter.download_name, pdf.read(), "application/pdf")
    email.send(fail_silently=False)
    message.subject = rendered.subject
    message.body_text = rendered.text
    message.body_html = rendered.html
    message.message_id = message_id
    message.state = OutboundMessage.State.SENT
    message.attempts = F("attempts") + 1
    message.sent_at = timezone.now()
    message.last_error = ""
    message.save()
    logger.info("Sent message %s (%s)", message.pk, message.kind)


def _record_failure(message_id: int, error: Exception) -> None:
    now = timezone.now()
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.state != OutboundMessage.State.PENDING:
            return
        message.attempts += 1
        message.last_error = type(error).__name__[:200]
        message.next_attempt_at = now + backoff_delay(message.attempts)
        if message.attempts >= MAX_ATTEMPTS:
            message.state = OutboundMessage.State.FAILED
        message.save(update_fields=["attempts", "last_error", "next_attempt_at", "state"])
    logger.warning("Sending message %s failed (%s), attempt %s", message_id, type(error).__name__, message.attempts)


def messages_due_for_sending(*, now=None, limit: int = 500) -> list[int]:
    """Pending messages whose next attempt is due, oldest first."""
    now = now or timezone.now()
    return list(
        OutboundMessage.objects.filter(state=OutboundMessage.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def messages_send_pending(*, now=None) -> int:
    """The sweep: queue every pending message that is due. Returns how many were queued."""
    queued = 0
    for message_id in messages_due_for_sending(now=now):
        if enqueue_delivery(message_id):
            queued += 1
    return queued
