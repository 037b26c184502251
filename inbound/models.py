"""Email in: every message that reaches complaints@ or appeals@, kept raw before anything else.

One row per message and mailbox, under a unique key (the mailbox and the Message-ID, or the
SHA-256 of the raw message when it has none), so fetching a message twice stores it once. The
row says what became of it: a new complaint, a client's message or answer on a case, an appeal,
a bounce matched to the email it reports; an automatic message kept and listed; or a message
waiting for a complaints lead, with the reason, and the date by which it must be acknowledged.
Nothing is deleted unseen: the raw .eml stays downloadable by staff as evidence.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jpdit_complaints.storage import private_storage


class Mailbox(models.TextChoices):
    COMPLAINTS = "complaints", "complaints@"
    APPEALS = "appeals", "appeals@"


class InboundEmail(models.Model):
    class State(models.TextChoices):
        STORED = "stored", "Stored, not read yet"
        DONE = "done", "Dealt with automatically"
        WAITING = "waiting", "Waiting for a complaints lead"
        AUTOMATIC = "automatic", "Automatic message: kept, never answered"
        DUPLICATE = "duplicate", "A copy of a message already received"
        HANDLED = "handled", "Dealt with by a complaints lead"

    class Outcome(models.TextChoices):
        NEW_COMPLAINT = "new_complaint", "New complaint"
        CLIENT_MESSAGE = "client_message", "Message from the client on their case"
        CLIENT_ANSWER = "client_answer", "The client's answer to our question"
        APPEAL = "appeal", "Appeal"
        BOUNCE = "bounce", "Delivery failure of one of our emails"
        NOT_A_COMPLAINT = "not_a_complaint", "Not a complaint"

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP mailbox"
        MAILDIR = "maildir", "Mail folder"
        PIPE = "pipe", "Piped by the mail server"
        WEBHOOK = "webhook", "Posted by the mail provider"

    key = models.CharField(max_length=300, unique=True)
    mailbox = models.CharField(max_length=12, choices=Mailbox.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    raw = models.FileField(storage=private_storage, upload_to="inbound/", max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # When our own mail server received it (IMAP INTERNALDATE, our Received header): deadlines run from here.
    arrived_at = models.DateTimeField()

    # What the headers say (decoded; the raw message is the evidence).
    message_id = models.CharField(max_length=250, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)

    state = models.CharField(max_length=12, choices=State.choices, default=State.STORED)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    # Why it waits for a person, why it is automatic, or why it could not be read.
    reason = models.CharField(max_length=300, blank=True)
    # Could not be read at all (kept, and listed for a lead with the error).
    quarantined = models.BooleanField(default=False)
    # A lead released it from quarantine or from the spam filter's flag: read it again, as a person's.
    released = models.BooleanField(default=False)
    # The case it became or joined (a lazy reference: the cases app sits below this one).
    complaint = models.ForeignKey(
        "cases.Complaint", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_emails"
    )
    # Attachments refused by the content checks: [{"name": ..., "reason": ...}].
    refused_parts = models.JSONField(default=list, blank=True)
    # While it waits for a person: the acknowledgement of what it may be is due by then (2 business days).
    acknowledgement_due = models.DateField(null=True, blank=True)

    processed_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["arrived_at", "pk"]
        indexes = [
            models.Index(fields=["state", "arrived_at"], name="inbound_state_arrived"),
            models.Index(fields=["message_id"], name="inbound_message_id"),
            models.Index(fields=["from_address", "outcome", "arrived_at"], name="inbound_sender_outcome"),
            models.Index(
                fields=["acknowledgement_due"], name="inbound_waiting_due", condition=models.Q(state="waiting")
            ),
        ]
        permissions = [("handle_inboundemail", "Can deal with emails waiting for a person (complaints leads)")]

    def __str__(self) -> str:
        return f"{self.get_mailbox_display()} {self.arrived_at:%Y-%m-%d %H:%M} ({self.get_state_display()})"

    @property
    def download_name(self) -> str:
        return f"email-{self.pk}.eml"


class MailboxCursor(models.Model):
    """How far a reader got in a mailbox: the UIDVALIDITY it read under, and the highest UID it stored."""

    name = models.CharField(max_length=200, unique=True)
    uidvalidity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.uidvalidity}/{self.last_uid}"
