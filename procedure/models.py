"""What the procedure's sweep keeps: the notices it has dealt with, and the lock its phases take."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cases.models import Complaint, Deadline


class DeadlineNotice(models.Model):
    """A reminder, escalation or closure the deadline sweep has dealt with: at most once each.

    The unique constraint on (case, kind, deadline, due date, subject) is what
    makes the sweep exactly-once: a second run, a second beat or a retried task
    finds the row and sends nothing; a run killed before commit left no row,
    so the next run sends it. A new due date (an extension, a clock stop) is a
    new key, so it gets its own reminder and escalation.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder before the due date"
        ESCALATION = "escalation", "Escalation of a missed due date"
        CLOSURE = "closure", "Closed at the end of the appeal window"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="deadline_notices")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    deadline = models.CharField(max_length=30, choices=Deadline.choices)
    due_date = models.DateField()
    # The action an action reminder is about (0 for the case's own deadlines).
    subject_id = models.PositiveIntegerField(default=0)
    # Who was told (staff user ids; the client for closures), for the record.
    recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["complaint", "kind", "deadline", "due_date", "subject_id"], name="deadline_notice_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_deadline_display()} due {self.due_date} on {self.complaint_id}"


class SweepLock(models.Model):
    """One row, locked by each phase of the deadline sweep so two sweeps never interleave."""

    name = models.CharField(max_length=40, unique=True)
    # The last London business day whose morning work (reminders) finished.
    daily_work_done_for = models.DateField(null=True, blank=True)
    # When the last whole run finished, and what it did (``procedure.sweep.SweepReport.counts``): read by
    # the readiness check and the administrator's Operations page.
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_counts = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.name


class EmailNotice(models.Model):
    """A reminder or escalation about an email waiting for a complaints lead: at most once each.

    An email that needs a person owes its sender an acknowledgement within two business days
    of its arrival, as a complaint does; the sweep reminds the leads the day before and escalates
    once it has passed, under this unique key (email, kind, due date).
    """

    email = models.ForeignKey("inbound.InboundEmail", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=DeadlineNotice.Kind.choices)
    due_date = models.DateField()
    recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["email", "kind", "due_date"], name="email_notice_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: email {self.email_id} due {self.due_date}"
