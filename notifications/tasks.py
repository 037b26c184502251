"""Celery tasks for outgoing messages: thin wrappers around notifications.services."""

from celery import shared_task

from notifications import services


@shared_task(ignore_result=True)
def deliver_message(message_id: int) -> str:
    """Send one outbox message, exactly once.

    No Celery retry here: a failure is recorded on the row with its next
    attempt time, and the sweep below queues it again then (one retry
    mechanism, with backoff, that survives restarts of everything).
    """
    try:
        return services.message_deliver(message_id)
    except services.DeliveryFailed:
        return "failed"


@shared_task(ignore_result=True)
def send_pending_messages() -> int:
    """Queue every outbox message still waiting whose next attempt is due."""
    return services.messages_send_pending()


@shared_task(ignore_result=True)
def deliver_messages(message_ids: list[int]) -> int:
    """Send a batch of outbox messages (the deadline sweep's), each exactly once; returns how many went."""
    sent = 0
    for message_id in message_ids:
        try:
            sent += services.message_deliver(message_id) == "sent"
        except services.DeliveryFailed:
            continue  # recorded on the row with its next attempt; the outbox sweep retries it
    return sent
