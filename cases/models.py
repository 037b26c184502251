"""Complaints, their events and attachments, and the company's closure days.

The complaint's state machine is data on the model (``Complaint.TRANSITIONS``):
``Complaint.transition_to()`` refuses anything the table does not allow, and the
services in ``cases.services`` own the transaction, the event and the messages.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone

from cases import business_days


class TransitionNotAllowed(Exception):
    """A state change the procedure does not allow from the case's current state."""

    def __init__(self, complaint: Complaint, target: str) -> None:
        current = Complaint.Status(complaint.status).label
        wanted = Complaint.Status(target).label
        super().__init__(f"Complaint {complaint.reference} is {current.lower()}; it cannot become {wanted.lower()}.")
        self.current = complaint.status
        self.target = target


def private_storage():
    return storages["private"]


class ClosureDay(models.Model):
    """A weekday the company is closed (besides bank holidays): no deadline falls on it."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, help_text="For example: office move, Christmas shutdown.")

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%a %d %b %Y}: {self.reason}"


class ReferenceCounter(models.Model):
    """The last sequence number given out in a year; its row lock serialises new references."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Category(models.Model):
    """What a complaint is about (kept in the admin; used for reports and root causes)."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Complaint(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        INVESTIGATING = "investigating", "Under investigation"
        AWAITING_CLIENT = "awaiting_client", "Waiting for information from the client"
        RESPONDED = "responded", "Responded"
        UNDER_APPEAL = "under_appeal", "Under appeal"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # The procedure as data: from each state, the states it may move to.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.RECEIVED: (Status.ACKNOWLEDGED, Status.WITHDRAWN),
        Status.ACKNOWLEDGED: (Status.INVESTIGATING, Status.WITHDRAWN),
        Status.INVESTIGATING: (Status.AWAITING_CLIENT, Status.RESPONDED, Status.WITHDRAWN),
        Status.AWAITING_CLIENT: (Status.INVESTIGATING, Status.WITHDRAWN),
        Status.RESPONDED: (Status.UNDER_APPEAL, Status.CLOSED),
        Status.UNDER_APPEAL: (Status.CLOSED,),
        Status.CLOSED: (),
        Status.WITHDRAWN: (),
    }
    OPEN_STATUSES = (
        Status.RECEIVED,
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.AWAITING_CLIENT,
    )

    class Channel(models.TextChoices):
        WEB = "web", "Web form"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"
        IN_PERSON = "in_person", "In person"

    class ContactMethod(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        POST = "post", "Post"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=24, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.WEB)

    # The complainant.
    name = models.CharField("full name", max_length=200)
    email = models.EmailField("email address", blank=True)
    phone = models.CharField("phone number", max_length=40, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    preferred_contact = models.CharField(
        "preferred contact method", max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    postal_address = models.TextField(blank=True)

    # The complaint.
    incident_date = models.DateField("date of the incident", null=True, blank=True)
    description = models.TextField()
    desired_outcome = models.TextField("what would put it right", blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints")

    # Deadlines (London dates, see cases.business_days).
    received_at = models.DateTimeField(help_text="When the complaint really arrived; deadlines run from here.")
    acknowledgement_due = models.DateField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    outcome_due = models.DateField(null=True, blank=True)

    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Bumped to revoke every secure link sent to the client so far.
    client_link_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at"]
        permissions = [
            ("log_complaint", "Can log a complaint received by phone, email, letter or in person"),
        ]
        indexes = [
            models.Index(fields=["status", "acknowledgement_due"], name="complaint_status_ackdue"),
            models.Index(fields=["status", "outcome_due"], name="complaint_status_outcomedue"),
            models.Index(fields=["received_at"], name="complaint_received"),
        ]

    def __str__(self) -> str:
        return self.reference

    # -- the state machine ------------------------------------------------------

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]

    def transition_to(self, target: str) -> str:
        """Move to ``target`` if the procedure allows it; returns the old state.

        Only the state changes here: the calling service locks the row, saves it
        and records the event in one transaction.
        """
        if not self.can_transition_to(target):
            raise TransitionNotAllowed(self, target)
        old, self.status = self.status, target
        return old

    # -- derived facts ------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def current_due_date(self) -> date | None:
        """The date the next promise to the client falls due, if one is running."""
        if self.status == self.Status.RECEIVED:
            return self.acknowledgement_due
        if self.status in (self.Status.ACKNOWLEDGED, self.Status.INVESTIGATING):
            return self.outcome_due
        return None

    @property
    def received_effective_date(self) -> date:
        return business_days.effective_date(self.received_at)

    @property
    def received_local(self):
        return timezone.localtime(self.received_at)


class ComplaintEvent(models.Model):
    """One entry on a case's timeline: who did what, when, and whether the client sees it."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Complaint submitted"
        LOGGED = "logged", "Complaint logged by staff"
        ACKNOWLEDGED = "acknowledged", "Complaint acknowledged"
        STATUS_CHANGED = "status_changed", "Status changed"
        ATTACHMENT_ADDED = "attachment_added", "Document added"
        MESSAGE_SENT = "message_sent", "Message sent"
        LETTER_ISSUED = "letter_issued", "Letter issued"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    from_status = models.CharField(max_length=20, choices=Complaint.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Complaint.Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "Client", "System" or a staff member's name, as shown on the timeline.
    actor_label = models.CharField(max_length=150)
    summary = models.CharField(max_length=300)
    client_visible = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["complaint", "created_at"], name="event_complaint_time")]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # Never the client's file name on disk: it is kept in original_name only.
    return f"complaints/{instance.complaint.public_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A document sent with a complaint, kept in private storage."""

    class Source(models.TextChoices):
        CLIENT = "client", "Client"
        STAFF = "staff", "Staff"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLIENT)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
