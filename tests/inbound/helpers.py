"""Helpers for tests that need a stored email."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from inbound import services
from inbound.models import InboundEmail, Mailbox


def received(raw: bytes, *, mailbox: str = Mailbox.COMPLAINTS, arrived: dt.datetime | None = None) -> InboundEmail:
    """Store and read a message as the reader and the worker do; the row as it ends up."""
    email, _created = services.email_store(
        raw=raw, mailbox=mailbox, arrived_at=arrived or timezone.now(), source=InboundEmail.Source.PIPE
    )
    services.email_process(email.pk)
    email.refresh_from_db()
    return email


def waiting_email(raw: bytes, **kwargs) -> InboundEmail:
    """A message that waits for a complaints lead (a stranger quoting a reference, say)."""
    email = received(raw, **kwargs)
    assert email.state == InboundEmail.State.WAITING, (email.state, email.reason)
    return email
