"""Email backends for the outbox tests: one that fails like an SMTP server, one that is slow."""

from __future__ import annotations

import smtplib
import time

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FailingSMTPBackend(BaseEmailBackend):
    """Refuses every message the way smtplib does when the server says no."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("421 Service not available (test)")


class SlowLocmemBackend(LocmemBackend):
    """Keeps mail in memory like locmem, after a pause long enough to race another sender."""

    delay = 0.3

    def send_messages(self, messages):
        time.sleep(self.delay)
        return super().send_messages(messages)
