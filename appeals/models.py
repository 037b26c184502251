"""Appeals against complaint outcomes (docs/specification.md, "Appeal").

An appeal is the client's last step: at most one per complaint (the one-to-one
field says so to the database), decided by a Director who took no part in the
investigation, and final. The state machine is data on the model, as for
complaints: ``received → acknowledged → under_review → decided``.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from cases import deadlines
from cases.models import Complaint, ComplaintEvent, StateMachine


class AppealQuerySet(models.QuerySet):
    """Set-based facts about appeals; the running-deadline rule is ``cases.deadlines`` (APPEAL_CLOCKS)."""

    def with_current_due(self) -> AppealQuerySet:
        return self.annotate(current_due=deadlines.current_due_expression(deadlines.APPEAL_CLOCKS))

    @staticmethod
    def due_q(**comparisons: date) -> models.Q:
        """Appeals whose running deadline meets the comparisons (``lt=``, ``lte=``...: ``cases.deadlines.due_q``)."""
        return deadlines.due_q(deadlines.APPEAL_CLOCKS, **comparisons)

    def overdue(self, today: date) -> AppealQuerySet:
        return self.filter(self.due_q(lt=today))

    def due_by(self, day: date) -> AppealQuerySet:
        return self.filter(self.due_q(lte=day))


class Appeal(StateMachine):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        UNDER_REVIEW = "under_review", "Under review by the Director"
        DECIDED = "decided", "Decided (final)"

    TRANSITIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        Status.RECEIVED: (Status.ACKNOWLEDGED,),
        Status.ACKNOWLEDGED: (Status.UNDER_REVIEW,),
        Status.UNDER_REVIEW: (Status.DECIDED,),
        Status.DECIDED: (),
    }

    class Channel(models.TextChoices):
        WEB = "web", "Client's case page"
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"

    class Decision(models.TextChoices):
        ORIGINAL_DECISION_UPHELD = "original_decision_upheld", "Original decision upheld"
        ORIGINAL_DECISION_CHANGED = "original_decision_changed", "Original decision changed"

    complaint = models.OneToOneField(Complaint, on_delete=models.CASCADE, related_name="appeal")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)

    reasons = models.TextField("reasons for the appeal")
    received_at = models.DateTimeField(help_text="When the appeal really arrived; its deadlines run from here.")
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Received after the appeal window closed, and accepted: why.
    late_reason = models.TextField("why a late appeal was accepted", blank=True)

    acknowledgement_due = models.DateField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    decision_due = models.DateField(null=True, blank=True)

    review_started_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=30, choices=Decision.choices, blank=True)
    # When the original decision is changed: the complaint's outcome now (its original stays on the complaint).
    new_outcome = models.CharField(max_length=20, choices=Complaint.Outcome.choices, blank=True)
    # ...and why it arose, as the Director found it, with what was learned (the reports count the cause in force).
    new_root_cause = models.ForeignKey(
        "cases.RootCause", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_lesson = models.TextField("what we learned", blank=True)
    decision_reasons = models.TextField("reasons for the decision", blank=True)
    recommendations = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        permissions = [
            ("decide_appeal", "Can review and decide appeals (Director)"),
            ("log_appeal", "Can log an appeal received by letter or email"),
        ]
        indexes = [
            models.Index(fields=["status", "acknowledgement_due"], name="appeal_status_ackdue"),
            models.Index(fields=["status", "decision_due"], name="appeal_status_decisiondue"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="decided") | (~models.Q(decision="") & ~models.Q(decision_reasons="")),
                name="appeal_decided_has_decision_and_reasons",
            ),
        ]

    def __str__(self) -> str:
        return f"Appeal on {self.complaint.reference}"

    # -- the state machine ------------------------------------------------------

    def record_transition(self, old: str, new: str, **event) -> ComplaintEvent:
        """An appeal's steps are entries on its complaint's timeline (the event kind names the step)."""
        return ComplaintEvent.objects.record(self.complaint, **event)

    # -- derived facts ------------------------------------------------------------

    @property
    def reference(self) -> str:
        return self.complaint.reference

    @property
    def is_decided(self) -> bool:
        return self.status == self.Status.DECIDED

    @property
    def current_due_date(self) -> date | None:
        """The date the running promise falls due, if a clock runs (``cases.deadlines``)."""
        return deadlines.current_due(self, deadlines.APPEAL_CLOCKS)

    @property
    def decision_owed(self) -> bool:
        """Is the Director's decision the promise running now (acknowledged, or under review)?"""
        clock = deadlines.running_clock(deadlines.APPEAL_CLOCKS, self.status)
        return clock is not None and clock.deadline == deadlines.Deadline.APPEAL_DECISION

    @property
    def was_late(self) -> bool:
        deadline = self.complaint.appeal_deadline
        return deadline is not None and timezone.localtime(self.received_at).date() > deadline

    def business_days_overdue(self, today: date | None = None) -> int:
        """How many business days the running promise is overdue (0 if it is not)."""
        return deadlines.business_days_overdue(self.current_due_date, today)
