"""Queue and deliver outgoing messages (emails, and webhook deliveries: ``notifications.webhooks``) through the outbox.

``message_queue`` is called inside the transaction that causes a message: it
writes the outbox row and, only once that transaction commits, asks Celery to
send it. If the broker is down or slow the row is still there, and the periodic
sweep (``send_pending_messages``) queues it again; nothing is lost.

``message_deliver`` is the only code that sends: it claims the row in a short
transaction, renders and sends with no lock held, then records it sent in another
short transaction. Two runs of the same task therefore send once: the second finds
the claim. A worker killed mid-send leaves the claim to expire, and the sweep queues
the message again. An email the mail server accepted is recorded even if the
database fails just then.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu import pools

from jpdit_complaints.celery import app as celery_app
from jpdit_complaints.log_privacy import mask
from notifications import threading, webhooks
from notifications.kinds import kind_named, kind_of
from notifications.letters import letter_file
from notifications.models import Letter, MessageAction, OutboundMessage
from notifications.rendering import RenderedEmail, render_email

logger = logging.getLogger(__name__)

# After this many failed attempts a message is marked failed and staff must act.
MAX_ATTEMPTS = 12


def sweep_grace() -> timedelta:
    """How long a queued message waits for its task before the sweep queues it again.

    The task queued on commit normally sends at once; the sweep steps in only after
    this grace period (broker down, worker dead), so it rarely doubles up.
    """
    return timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)


def backoff_delay(attempts: int) -> timedelta:
    """Retry waits after a failed send: base, 2 x base, 4 x base ... capped (1, 2, 4 ... minutes, at most an hour)."""
    base = timedelta(seconds=settings.OUTBOX_RETRY_BASE_SECONDS)
    return min(base * (2 ** max(attempts - 1, 0)), timedelta(seconds=settings.OUTBOX_RETRY_CAP_SECONDS))


def message_queue(
    *,
    kind: str,
    dedupe_key: str,
    to_email: str,
    complaint=None,
    context: dict[str, Any] | None = None,
    letter: Letter | None = None,
    client_visible: bool = True,
    first_for_key: bool = False,
    send_at: datetime | None = None,
) -> OutboundMessage:
    """Record a message to send and queue its delivery when the transaction commits (or, with ``send_at``,
    leave it to the outbox sweep, which sends it once that moment has come).

    Idempotent: a second call with the same ``dedupe_key`` returns the first row.
    ``first_for_key=True`` is for a caller whose key names something created in
    this same transaction (a new complaint's acknowledgement): no row can exist
    yet, so one plain INSERT replaces the look-up and savepoint. The unique key
    still guards it: were the promise broken, the INSERT would fail and the
    whole transaction roll back, never send twice.
    """
    fields = {
        "kind": kind,
        "to_email": to_email,
        "complaint": complaint,
        "context": context or {},
        "letter": letter,
        "client_visible": client_visible,
        "next_attempt_at": send_at or timezone.now() + sweep_grace(),
    }
    kind_named(kind)  # an unregistered kind is a programming error: refuse it before anything is saved
    if first_for_key:
        message, created = OutboundMessage.objects.create(dedupe_key=dedupe_key, **fields), True
    else:
        message, created = OutboundMessage.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
    if created and send_at is None:
        message_id = message.pk
        transaction.on_commit(lambda: enqueue_delivery(message_id))
    return message


def webhook_queue(*, event: webhooks.Event) -> list[OutboundMessage]:
    """Record a delivery of ``event`` to each endpoint that wants it, queued when the transaction commits.

    Call in the transaction that writes the event's timeline entry: the entry is new, so its deliveries'
    keys (``webhook:<endpoint>:<event id>``) are too, and one INSERT writes them all (the unique key still
    guards it, as ``first_for_key`` does for an email). Nothing is written when no endpoint wants it.
    """
    now = timezone.now()
    rows = webhooks.deliveries(event, now=now, first_attempt_at=now + sweep_grace())
    if not rows:
        return []
    created = OutboundMessage.objects.bulk_create(rows)
    ids = [row.pk for row in created]
    transaction.on_commit(lambda: [enqueue_delivery(message_id) for message_id in ids])
    return created


# A web request publishes with these limits whatever the broker settings say:
# a broker that is down or hangs costs the client about a quarter of a second
# (a healthy broker answers in a millisecond or two), and the message waits in
# the outbox for the sweep. The promise is "saved and confirmed within a
# second" even on a busy machine. (The worker consumes with the broker
# settings, unchanged: a long blocking read is normal for it.)
PUBLISH_CONNECT_TIMEOUT = 0.25
PUBLISH_SOCKET_TIMEOUT = 0.25
PUBLISH_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": PUBLISH_CONNECT_TIMEOUT,
    "socket_timeout": PUBLISH_SOCKET_TIMEOUT,
    # No reconnect loop (kombu's default retries for seconds): fail once, fast.
    "max_retries": 0,
}


_publisher_pools: dict[tuple[int, str], Any] = {}


def _publisher_pool(app):
    """The pool of producers on a broker connection with short timeouts.

    One per app and broker URL, kept for the life of the process: building the
    connection on every publish cost about 4 % of a public submission. Made on
    the first publish, so in the process that publishes (a gunicorn or Celery
    worker), never inherited through a fork.
    """
    url = app.conf.broker_write_url
    key = (id(app), url)
    pool = _publisher_pools.get(key)
    if pool is None:
        broker = app.connection_for_write(
            url,
            connect_timeout=PUBLISH_CONNECT_TIMEOUT,
            transport_options=PUBLISH_TRANSPORT_OPTIONS,
        )
        pool = _publisher_pools[key] = pools.producers[broker]
    return pool


# The Celery task that sends one message (notifications.tasks.deliver_message), named rather than
# imported: the task module imports this one. A test checks the name against the task.
DELIVER_TASK = "notifications.tasks.deliver_message"


def enqueue_delivery(message_id: int) -> bool:
    """Ask a worker to send a message; never raises (the sweep is the safety net)."""
    app = celery_app
    try:
        with _publisher_pool(app).acquire(block=True, timeout=PUBLISH_CONNECT_TIMEOUT) as producer:
            app.send_task(DELIVER_TASK, args=[message_id], producer=producer, retry=False)
    except Exception as error:  # noqa: BLE001 - any broker failure: the outbox row waits for the sweep
        logger.warning(
            "Broker unavailable (%s); message %s left for the outbox sweep", type(error).__name__, message_id
        )
        return False
    return True


class DeliveryFailed(Exception):
    """Sending failed; the attempt is recorded and the task retries later."""


def message_deliver(message_id: int) -> str:
    """Send one outbox message exactly once, holding no lock while it talks to the mail server (or, for a
    webhook delivery, to the endpoint: ``_post_webhook``).

    Returns what happened: sent, already-sent, gave-up, or in-progress (another worker claimed it
    moments ago). Three steps, none of which holds a lock during network or file I/O:

    1. Claim the row in a short transaction of its own (``claimed_until``, which also keeps the
       sweep away until then). A second delivery of the same task while the first is still
       sending finds the claim and leaves the row alone; a claim left by a worker that died
       expires, and the sweep queues the message again.
    2. Outside any transaction: prepare the facts of the moment (``MessageKind.prepare``, which
       only reads), render, read the letter's PDF, and send. A slow mail relay keeps nobody
       waiting: no case row and no outbox row is locked meanwhile. If sending fails, the failure
       is recorded with its backoff and nothing else changes.
    3. Record, in a short transaction: the row is marked sent and what sending changes is
       recorded with it (``MessageKind.on_sent``: an acknowledgement acknowledges its case). If
       the database fails just then (a restart), the record is retried until the claim runs out,
       so an email the mail server accepted is not sent a second time when the database is back.
    """
    outcome = _claim(message_id)
    if outcome is not None:
        return outcome
    message = OutboundMessage.objects.select_related("complaint", "letter", "endpoint").get(pk=message_id)
    at = timezone.now()
    if message.endpoint is not None:
        return _post_webhook(message, at=at)
    try:
        email, rendered = _compose(message, at=at)
        email.send(fail_silently=False)
    except Exception as error:
        _record_failure(message_id, error)
        raise DeliveryFailed(f"message {message_id}: {type(error).__name__}") from error
    _record_sent(message_id, _Sent(rendered, email.extra_headers["Message-ID"], at))
    return "sent"


def _post_webhook(message: OutboundMessage, *, at: datetime) -> str:
    """Step 2 for a webhook delivery: post it (``notifications.webhooks.post``), then record it as an email is.

    An endpoint switched off since the event is not posted to: the row is closed as failed and already
    dealt with (it is not the receiver's fault, and the administrator chose it), off the Operations page.
    """
    endpoint = message.endpoint
    if endpoint is not None and not endpoint.active:
        _record_dropped(message.pk, at=at, reason="Not sent: the endpoint was switched off")
        return "dropped"
    try:
        posted = webhooks.post(message, at=at)
    except Exception as error:
        _record_failure(message.pk, error)
        raise DeliveryFailed(f"message {message.pk}: {type(error).__name__}") from error
    _record_sent(message.pk, _Sent(RenderedEmail(subject=posted.subject, text=posted.body, html=""), "", at))
    return "sent"


@dataclass(frozen=True)
class _Sent:
    rendered: Any
    message_id: str
    at: datetime


def sending_timeout() -> timedelta:
    """How long a worker's claim on a message lasts: longer than any send (the SMTP timeout and a PDF)."""
    return timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS)


def _claim(message_id: int) -> str | None:
    """Claim the row for this worker; or say why not (already-sent, gave-up, in-progress)."""
    now = timezone.now()
    with transaction.atomic():
        rows = OutboundMessage.objects.select_for_update().only("state", "claimed_until", "next_attempt_at")
        message = rows.get(pk=message_id)
        if message.state == OutboundMessage.State.SENT:
            return "already-sent"
        if message.state == OutboundMessage.State.FAILED:
            return "gave-up"
        if message.claimed_until is not None and message.claimed_until > now:
            return "in-progress"
        message.claimed_until = now + sending_timeout()
        message.next_attempt_at = max(message.next_attempt_at, message.claimed_until)
        message.save(update_fields=["claimed_until", "next_attempt_at"])
    return None


def _compose(message: OutboundMessage, *, at: datetime) -> tuple[EmailMultiAlternatives, RenderedEmail]:
    """The email as it goes out at ``at``: rendered from the kind's templates, with its letter attached."""
    kind = kind_of(message)
    context = {"message": message, "complaint": message.complaint, **message.context}
    context.update(kind.context_for(message, at))
    rendered = render_email(kind.template, context)
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        reply_to=[str(settings.COMPANY["complaints_email"])],
        headers={
            "Message-ID": message_id_for(message),
            # An automatic email (RFC 3834): auto-responders must not answer it, so no mail loop starts.
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    if message.letter is not None:
        with letter_file(message.letter).file.open("rb") as pdf:
            email.attach(message.letter.download_name, pdf.read(), "application/pdf")
    return email, rendered


def _record_sent(message_id: int, sent: _Sent) -> None:
    """Mark the row sent and record what sending changed, in one short transaction.

    Retries while the database is unavailable (a restart), until the claim runs out; if it stays
    away longer than that, the message will be sent again later, with the same Message-ID.
    """
    deadline = sent.at + sending_timeout()
    while True:
        if connection.connection is not None and not connection.is_usable():
            connection.close()  # a broken connection is never reused; the next query opens a new one
        try:
            with transaction.atomic():
                # The case comes with the row (what sending changes is about it: ``MessageKind.on_sent``).
                message = (
                    OutboundMessage.objects.select_for_update(of=("self",))
                    .select_related("complaint")
                    .get(pk=message_id)
                )
                if message.state == OutboundMessage.State.SENT:
                    return  # another worker's copy was recorded first (its claim had run out)
                kind = kind_of(message) if message.endpoint_id is None else None
                if kind is not None and kind.on_sent is not None:
                    kind.on_sent(message, sent.at)
                _mark_sent(message, sent)
            return
        except DatabaseError as error:
            logger.warning("Message %s was sent but not recorded (%s): retrying", message_id, type(error).__name__)
            if timezone.now() >= deadline:
                logger.error("Message %s sent but never recorded (%s)", message_id, type(error).__name__)
                raise
            time.sleep(0.5)


def _mark_sent(message: OutboundMessage, sent: _Sent) -> None:
    message.subject = sent.rendered.subject
    # The copy kept is what went out with every client link's token masked (``/track/[token]/``): the
    # email itself carried the working link; a copy that staff read in the admin or export for a subject
    # access request must not let its reader act as the client.
    message.body_text = mask(sent.rendered.text)
    message.body_html = mask(sent.rendered.html)
    message.message_id = sent.message_id
    message.state = OutboundMessage.State.SENT
    message.attempts = F("attempts") + 1
    message.sent_at = sent.at
    message.last_error = ""
    message.claimed_until = None
    message.save(update_fields=list(_SENT_FIELDS))
    logger.info("Sent message %s (%s)", message.pk, message.kind)


# What ``_mark_sent`` changes on the row (and only that is written).
_SENT_FIELDS = (
    "subject",
    "body_text",
    "body_html",
    "message_id",
    "state",
    "attempts",
    "sent_at",
    "last_error",
    "claimed_until",
)


def message_id_for(message: OutboundMessage) -> str:
    """The Message-ID header: the same on every attempt to send one outbox row (``notifications.threading``).

    A worker that dies after the mail server accepted the email but before the row was marked
    sent will send it again; with an unchanged Message-ID the client's mail system can recognise
    and drop the duplicate. It carries the case's signed token, by which a reply finds its case.
    """
    case = message.complaint.public_id.hex if message.complaint is not None else None
    return threading.message_id(message.public_id.hex, case)


def _record_failure(message_id: int, error: Exception) -> None:
    now = timezone.now()
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.state != OutboundMessage.State.PENDING:
            return
        message.attempts += 1
        message.last_error = failure_label(error)
        message.next_attempt_at = now + backoff_delay(message.attempts)
        message.claimed_until = None
        if message.attempts >= MAX_ATTEMPTS:
            message.state = OutboundMessage.State.FAILED
        message.save(update_fields=["attempts", "last_error", "next_attempt_at", "claimed_until", "state"])
    logger.warning("Sending message %s failed (%s), attempt %s", message_id, type(error).__name__, message.attempts)


def failure_label(error: Exception) -> str:
    """What the row keeps of a failure: its class (a mail server's text may echo addresses), or a webhook's
    own words (an HTTP status, a refused address: ``webhooks.SAY_WHY``)."""
    if isinstance(error, webhooks.SAY_WHY):
        return str(error)[:200]
    return type(error).__name__[:200]


def _record_dropped(message_id: int, *, at: datetime, reason: str) -> None:
    """A delivery that will never be attempted: failed, and already dealt with (not on the Operations page)."""
    OutboundMessage.objects.filter(pk=message_id, state=OutboundMessage.State.PENDING).update(
        state=OutboundMessage.State.FAILED, last_error=reason[:200], claimed_until=None, handled_at=at
    )
    logger.info("Message %s not sent: %s", message_id, reason)


def messages_due_for_sending(*, now=None, limit: int = 500) -> list[int]:
    """Pending messages whose next attempt is due, oldest first."""
    now = now or timezone.now()
    return list(
        OutboundMessage.objects.filter(state=OutboundMessage.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def messages_send_pending(*, now=None) -> int:
    """The sweep: queue every pending message that is due. Returns how many were queued.

    A queued row's next attempt moves one grace period on, so the next sweep
    does not queue it again while it waits for a worker. If the broker fails,
    the sweep stops: the rest stay due and the next sweep tries again.
    """
    now = now or timezone.now()
    queued = 0
    for message_id in messages_due_for_sending(now=now):
        if not enqueue_delivery(message_id):
            break
        # Only if still due: a worker may already have failed it and set its backoff.
        OutboundMessage.objects.filter(
            pk=message_id, state=OutboundMessage.State.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + sweep_grace())
        queued += 1
    return queued


def message_bounced(*, message_ids: list[str], status: str, at: datetime) -> OutboundMessage | None:
    """A delivery report names one of our sent emails: mark it bounced, once. Returns it, or None if none matches."""
    headers = [f"<{value.strip().strip('<>')}>" for value in message_ids if value.strip()]
    if not headers:
        return None
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(message_id__in=headers, state__in=[OutboundMessage.State.SENT, OutboundMessage.State.BOUNCED])
            .order_by("pk")
            .first()
        )
        if message is None or message.state == OutboundMessage.State.BOUNCED:
            return message
        message.state = OutboundMessage.State.BOUNCED
        message.bounced_at = at
        message.bounce_status = status[:20]
        message.save(update_fields=["state", "bounced_at", "bounce_status"])
    logger.info("Message %s reported undelivered (%s)", message.pk, message.bounce_status or "no status")
    return message


# --- The administrator's Operations page: emails that failed or bounced ---------------------------

# Who may resend an email or mark it handled: no staff role holds it, so administrators (superusers),
# unless one grants it to someone by hand.
OPERATE_OUTBOX = "notifications.change_outboundmessage"
NEEDS_ATTENTION = (OutboundMessage.State.FAILED, OutboundMessage.State.BOUNCED)


class OutboxRefused(Exception):
    """The email is not one an administrator can act on (sent and delivered, or already dealt with)."""


def _attention_row(message_id: int) -> OutboundMessage:
    """The failed or bounced email, locked; refused if it is neither or was already dealt with."""
    message = OutboundMessage.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.state not in NEEDS_ATTENTION or message.handled_at is not None:
        raise OutboxRefused("This email has already been dealt with, or needs nothing (it was not refused).")
    return message


def _check_may_operate(user) -> None:
    if not user.has_perm(OPERATE_OUTBOX):
        raise PermissionDenied("Only an administrator may resend emails or mark them handled.")


def message_resend(*, message_id: int, user) -> OutboundMessage:
    """Send a failed or bounced email again, through the outbox, once; recorded as a ``MessageAction``.

    A failed email (the relay refused it ``MAX_ATTEMPTS`` times) goes back to pending on the same row,
    its attempts counted from zero. A bounced one was sent: it is queued again as a new row (its own
    Message-ID) under the key ``resend:<public id>``, to the same address. Either way the original
    leaves the list; a second click finds it dealt with and changes nothing.
    """
    _check_may_operate(user)
    now = timezone.now()
    with transaction.atomic():
        message = _attention_row(message_id)
        if message.state == OutboundMessage.State.FAILED:
            message.state = OutboundMessage.State.PENDING
            message.attempts = 0
            message.next_attempt_at = now + sweep_grace()
            message.claimed_until = None
            message.save(update_fields=["state", "attempts", "next_attempt_at", "claimed_until"])
            resent = message
            transaction.on_commit(lambda: enqueue_delivery(message_id))
        else:
            resent = message_queue(
                kind=message.kind,
                dedupe_key=f"resend:{message.public_id.hex}",
                to_email=message.to_email,
                complaint=message.complaint,
                context=message.context,
                letter=message.letter,
                client_visible=message.client_visible,
            )
            message.handled_at = now
            message.save(update_fields=["handled_at"])
        MessageAction.objects.create(
            message=message,
            kind=MessageAction.Kind.RESENT,
            actor=user,
            actor_label=user.get_username(),
            resent_as=resent,
            created_at=now,
        )
    logger.info("Message %s queued again by an administrator (as %s)", message_id, resent.pk)
    return resent


def message_mark_handled(*, message_id: int, user) -> OutboundMessage:
    """A failed or bounced email dealt with another way (a letter posted, a call): off the list, recorded."""
    _check_may_operate(user)
    now = timezone.now()
    with transaction.atomic():
        message = _attention_row(message_id)
        message.handled_at = now
        message.save(update_fields=["handled_at"])
        MessageAction.objects.create(
            message=message,
            kind=MessageAction.Kind.HANDLED,
            actor=user,
            actor_label=user.get_username(),
            created_at=now,
        )
    logger.info("Message %s marked handled by an administrator", message_id)
    return message
