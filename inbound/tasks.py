"""Celery tasks of email in: thin wrappers around inbound.services."""

from celery import shared_task

from inbound import services


@shared_task(ignore_result=True, acks_late=True)
def process_email(email_id: int) -> str:
    """Read one stored message and make it what it is, once (a second run finds it done)."""
    return services.email_process(email_id)


@shared_task(ignore_result=True)
def process_stored_emails() -> int:
    """The safety net: read the messages still stored (their task lost while the broker was down)."""
    return services.emails_process_stored()
