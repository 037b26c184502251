"""The outbox: every email the product sends, recorded before it is sent.

A row is written in the same transaction as the change that causes it, under a
unique ``dedupe_key`` (for example ``complaint:42:acknowledgement``), so a
message can never be queued twice. The sending task locks the row, skips it if
it was already sent, sends it and marks it sent (``notifications.services``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from jpdit_complaints.storage import private_storage
from notifications import kinds


class Letter(models.Model):
    """A PDF letter kept on a case (acknowledgement by post, outcome, appeal decision)."""

    # The case (a lazy reference: the cases app sits above this one and is never imported here).
    complaint = models.ForeignKey("cases.Complaint", on_delete=models.CASCADE, related_name="letters")
    # One of the kinds the apps register (notifications.kinds).
    kind = models.CharField(max_length=40, choices=kinds.letter_choices)
    # Stored after the transaction that issued the letter commits ("" until then: notifications.letters).
    file = models.FileField(storage=private_storage, upload_to="letters/", max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    client_visible = models.BooleanField(default=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.complaint.reference}"

    @property
    def download_name(self) -> str:
        return f"{self.complaint.reference}-{self.kind}.pdf"


class OutboundMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        # Sent, then reported undeliverable by the recipient's mail system (a delivery report read from complaints@).
        BOUNCED = "bounced", "Sent, but not delivered (bounced)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dedupe_key = models.CharField(max_length=200, unique=True)
    # One of the kinds the apps register (notifications.kinds).
    kind = models.CharField(max_length=40, choices=kinds.choices)
    complaint = models.ForeignKey(
        "cases.Complaint", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    to_email = models.EmailField()
    # For the client (shown on their timeline) or for staff.
    client_visible = models.BooleanField(default=True)
    # Extra template values fixed when the message is queued (JSON-safe).
    context = models.JSONField(default=dict, blank=True)
    letter = models.ForeignKey(Letter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # Filled in when sent: exactly what went out.
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Class of the last failure only (never the server's text: it may echo addresses).
    last_error = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker is sending it until then (notifications.services._claim); a claim that runs out was
    # left by a worker that died, and the message is sent again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    # The status code of the delivery report (for example 5.1.1: no such mailbox), never its free text.
    bounce_status = models.CharField(max_length=20, blank=True)
    # A failed or bounced email an administrator has dealt with (resent, or marked handled): off the
    # Operations page's list. Each such act is a ``MessageAction``.
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # A delivery report names the email it reports by its Message-ID.
            models.Index(fields=["message_id"], name="outbox_message_id"),
            # The sweep reads only what is still pending.
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_due",
                condition=models.Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_state_display()})"


class MessageAction(models.Model):
    """What an administrator did about a failed or bounced email (``notifications.services``), for the record."""

    class Kind(models.TextChoices):
        RESENT = "resent", "Sent again"
        HANDLED = "handled", "Marked handled"

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The actor's username when it was done (kept if the account is deleted).
    actor_label = models.CharField(max_length=150)
    # A bounced email is sent again as a new outbox row (its own Message-ID); a failed one is the same row.
    resent_as = models.ForeignKey(OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor_label}"
