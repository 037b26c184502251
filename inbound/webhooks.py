"""Inbound mail posted by a mail provider (django-anymail's inbound webhooks: /anymail/<provider>/inbound/).

The same pipeline as the mailboxes: the message, as the provider hands it over, is stored once
(``inbound.services.email_store``) and its reading queued for the worker. The mailbox is the
address it was delivered to (the envelope recipient, when the provider gives it), else whichever of
complaints@ and appeals@ its To, Cc or Bcc name (both: stored in both, and read as one message, as
when it reaches both mailboxes), else complaints@. A failure raises: the provider is answered 500
and posts it again later.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from inbound import services
from inbound.models import InboundEmail, Mailbox


def our_addresses() -> dict[str, str]:
    """complaints@... and appeals@... (settings.COMPANY), each with its mailbox."""
    return {
        str(settings.COMPANY["complaints_email"]).lower(): Mailbox.COMPLAINTS,
        str(settings.COMPANY["appeals_email"]).lower(): Mailbox.APPEALS,
    }


def mailboxes_addressed(message) -> list[str]:
    """The mailboxes an inbound message (anymail's AnymailInboundMessage) was sent to."""
    ours = our_addresses()
    envelope = (getattr(message, "envelope_recipient", None) or "").strip().strip("<>").lower()
    if envelope in ours:
        return [ours[envelope]]
    named = [address.addr_spec.lower() for name in ("To", "Cc", "Bcc") for address in message.get_address_header(name)]
    found = [mailbox for address, mailbox in ours.items() if address in named]
    return found or [Mailbox.COMPLAINTS]


def email_posted(sender, event, esp_name: str, **kwargs) -> None:
    """anymail.signals.inbound's receiver (connected in inbound/apps.py)."""
    raw = event.message.as_bytes()
    # The provider's own time of receipt when it gives one; else now, which is when it reached us.
    arrived_at = event.timestamp or timezone.now()
    for mailbox in mailboxes_addressed(event.message):
        services.email_store(raw=raw, mailbox=mailbox, arrived_at=arrived_at, source=InboundEmail.Source.WEBHOOK)
