"""The satisfaction survey: one per closed complaint, and the addresses that want no more of them.

A ``Survey`` row is written in the transaction that closes a complaint (``satisfaction.services``), with
the outbox row of its email; the client answers through a signed, single-use link (``satisfaction.links``).
The answers are the client's personal data: listed in a subject access export and cleared of the
comment when the case is anonymised (``procedure.retention``); the scores stay for the figures.
"""

from __future__ import annotations

import hashlib
import uuid

from django.db import models
from django.utils import timezone

# The scale of every question: 1 (not at all) to 5 (completely).
SCORES = range(1, 6)
SCORE_WORDS = {1: "Not at all", 2: "Not really", 3: "Partly", 4: "Mostly", 5: "Completely"}


class Survey(models.Model):
    """The satisfaction survey of one complaint: to whom it went, and the answers once given (only once)."""

    # The three questions, by field: what the reports and the form call them.
    QUESTIONS = {
        "fair": "Was your complaint handled fairly?",
        "informed": "Were you kept informed while we dealt with it?",
        "clear": "Were the reasons for our decision clear?",
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # One survey per complaint, ever: the database holds the "exactly once" (a late appeal that closes the
    # complaint a second time finds it).
    complaint = models.OneToOneField("cases.Complaint", on_delete=models.CASCADE, related_name="survey")
    # Who it went to: "client" or "representative" (cases.models.Correspondent.role).
    recipient = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    fair = models.PositiveSmallIntegerField(null=True, blank=True)
    informed = models.PositiveSmallIntegerField(null=True, blank=True)
    clear = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(answered_at__isnull=True, fair__isnull=True, informed__isnull=True, clear__isnull=True)
                    | models.Q(
                        answered_at__isnull=False,
                        fair__gte=1,
                        fair__lte=5,
                        informed__gte=1,
                        informed__lte=5,
                        clear__gte=1,
                        clear__lte=5,
                    )
                ),
                name="survey_scores_1_to_5_once_answered",
            ),
        ]

    def __str__(self) -> str:
        return f"Survey of complaint {self.complaint_id}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


def address_digest(email: str) -> str:
    """How an address is kept on the list of those who declined surveys: its SHA-256, case folded.

    The list must outlive the case (an anonymised client who declined must not be asked again), so it
    keeps no address in clear; an address given later is recognised by the same digest.
    """
    return hashlib.sha256(("satisfaction-opt-out:" + email.strip().casefold()).encode()).hexdigest()


class SurveyOptOut(models.Model):
    """An address that asked for no more satisfaction surveys (by its digest): honoured by every later one."""

    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "survey opt-out"

    def __str__(self) -> str:
        return f"Declined surveys on {self.created_at:%Y-%m-%d}"
