"""The outbox: every email and webhook the product sends, recorded before it is sent.

A row is written in the same transaction as the change that causes it, under a
unique ``dedupe_key`` (for example ``complaint:42:acknowledgement``), so a
message can never be queued twice. The sending task locks the row, skips it if
it was already sent, sends it and marks it sent (``notifications.services``).
A webhook delivery is a row like an email's, addressed to a ``WebhookEndpoint``
instead of an email address (``notifications.webhooks``).
"""

from __future__ import annotations

import secrets
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


def new_webhook_secret() -> str:
    """The key an endpoint's deliveries are signed with (HMAC-SHA256): 256 random bits."""
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(models.Model):
    """Another system the administrator lets hear of events (``notifications.webhooks``), in the admin.

    Never deleted (its deliveries stay on record): switched off instead, which also stops what is still
    waiting to be delivered to it.
    """

    name = models.CharField(max_length=100, unique=True, help_text="For example: the CRM, the service desk.")
    url = models.URLField(
        "address",
        max_length=500,
        help_text="Where the events are posted (https://...). Redirects are not followed.",
    )
    # The HMAC key both sides know: kept as it is, because signing needs it (shown to the administrator only).
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    # Names of registered webhook event kinds (notifications.kinds.webhook_event_choices).
    events = models.JSONField(default=list)
    may_receive_personal_data = models.BooleanField(
        "may receive personal data",
        default=False,
        help_text="Only then do its events carry the client's name, email address, phone number and "
        "organisation; otherwise ids, references, states and dates only.",
    )
    active = models.BooleanField(default=True, help_text="Untick to stop sending to it (waiting deliveries too).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.active and event in self.events


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
    # One of the kinds the apps register (notifications.kinds): an email's kind, or a webhook event's.
    kind = models.CharField(max_length=40, choices=kinds.outbox_choices)
    complaint = models.ForeignKey(
        "cases.Complaint", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # An email's address, or "" for a webhook delivery, which goes to its endpoint.
    to_email = models.EmailField(blank=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    # For the client (shown on their timeline) or for staff.
    client_visible = models.BooleanField(default=True)
    # Extra template values fixed when the message is queued (JSON-safe); a webhook's event, without personal data.
    context = models.JSONField(default=dict, blank=True)
    letter = models.ForeignKey(Letter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # Filled in when sent: exactly what went out (a webhook: its event's name, and the body posted without
    # the personal data an endpoint may have received with it).
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Class of the last failure only (never the server's text: it may echo addresses); a webhook's HTTP status.
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

    @property
    def is_webhook(self) -> bool:
        return self.endpoint_id is not None


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
