"""The reports' summary of past months (reports.summary builds it; reports.selectors reads it), and the
published annual report (``AnnualReport``, at the end; reports.annual).

A year of figures at a million complaints is half a million rows to read; the same
figures kept per month and per (channel, category, manager) are a few thousand
small rows. What is kept here is a copy, so each piece says how it stays true:

* ``SummaryCell``: the tally (reports.tally) of the complaints received in one London
  month with one channel, category and manager. Tallies add up, and nothing in them
  depends on the day they are read, so a month kept here gives the same figures as
  the same month counted live, on any later day.
* ``SummaryMonth``: one row per month that has cells, with when it was built and the
  fingerprint of the calendar its business days were counted with.
* ``ChangedMonth``: an append-only log, one row each time a complaint, appeal, action
  or extension is written, naming the month of the complaint's receipt. Database
  triggers write it (reports/migrations/0002), so no writer can forget: services,
  the admin, ``QuerySet.update()``, the retention sweep, raw SQL. A month with a row
  here is read live until the summary task (reports.tasks) builds it again.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from jpdit_complaints.storage import private_storage


class SummaryMonth(models.Model):
    month = models.DateField(primary_key=True, help_text="First day of the London month.")
    built_at = models.DateTimeField(null=True, blank=True)
    # The calendar the month's business days were counted with: a closure day or bank holiday
    # between these dates changes the figures, so the month is read live until built again.
    calendar_from = models.DateField(null=True, blank=True)
    calendar_until = models.DateField(null=True, blank=True)
    calendar_digest = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.month:%B %Y}"


class SummaryCell(models.Model):
    month = models.DateField()
    channel = models.CharField(max_length=12)
    # Plain integers, not foreign keys: a category or user may go once no complaint points
    # at it, and the months that counted it are rebuilt by then (the complaints changed).
    category_id = models.IntegerField(null=True)
    assignee_id = models.IntegerField(null=True)
    tally = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["month", "channel", "category_id"], name="reports_cell_month")]

    def __str__(self) -> str:
        return f"{self.month:%b %Y} {self.channel} {self.category_id} {self.assignee_id}"


class ChangedMonth(models.Model):
    id = models.BigAutoField(primary_key=True)
    month = models.DateField(db_index=True)

    def __str__(self) -> str:
        return f"changed: {self.month:%B %Y}"


class AnnualReportChangeRefused(Exception):
    """A published version changed in place: a published year changes only by a new version."""


class AnnualReport(models.Model):
    """One version of the published yearly summary of complaint handling (reports.annual).

    Its figures are a frozen snapshot (``figures``: plain JSON, no personal data, taken from the reports'
    figures when the draft was made or refreshed) with the Director's own words beside them. A draft is
    seen by staff only; the Director approves it, then publishes it on the public site with its PDF.
    A published version never changes (``save`` refuses it): a correction is a new version of the same
    year, which replaces the old one in public view and says so, and the old one stays readable.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved, not yet published"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Published, replaced by a later version"

    TRANSITIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        State.DRAFT: (State.APPROVED,),
        State.APPROVED: (State.DRAFT, State.PUBLISHED),
        State.PUBLISHED: (State.SUPERSEDED,),
        State.SUPERSEDED: (),
    }
    # What a published version may still change: its state (to superseded) and, once, its stored PDF.
    PUBLIC = (State.PUBLISHED, State.SUPERSEDED)

    year = models.PositiveSmallIntegerField()
    version = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    figures = models.JSONField(help_text="The frozen figures of the year (reports.annual.annual_figures).")
    figures_as_of = models.DateField()
    foreword = models.TextField("the Director's introduction", blank=True)
    changes = models.TextField("what changed because of them", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Every change bumps it: a form opened before a change is refused (optimistic concurrency).
    revision = models.PositiveIntegerField(default=0)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    # The PDF as published: stored once after the publishing commits (made then, or when first asked for).
    pdf = models.FileField(storage=private_storage, upload_to="annual-reports/", max_length=255, blank=True)

    _loaded_state: str | None = None

    class Meta:
        ordering = ["-year", "-version"]
        permissions = [("publish_annualreport", "Can approve and publish the annual complaints report")]
        constraints = [
            models.UniqueConstraint(fields=["year", "version"], name="annual_report_year_version"),
            # One version of a year in the making at a time, and one in public view.
            models.UniqueConstraint(
                fields=["year"], condition=models.Q(state__in=["draft", "approved"]), name="annual_report_one_draft"
            ),
            models.UniqueConstraint(
                fields=["year"], condition=models.Q(state="published"), name="annual_report_one_published"
            ),
        ]

    def __str__(self) -> str:
        return f"Annual report {self.year}, version {self.version} ({self.get_state_display().lower()})"

    def save(self, *args, **kwargs) -> None:
        """Refuse any change to a published version but its replacement (state ``superseded``)."""
        if self._loaded_state in self.PUBLIC:
            fields = set(kwargs.get("update_fields") or ())
            if not fields or not fields <= {"state", "revision", "updated_at"} or self.state not in self.PUBLIC:
                raise AnnualReportChangeRefused(
                    f"Version {self.version} of the {self.year} report is published and cannot change: "
                    "make a new version instead."
                )
        super().save(*args, **kwargs)
        self._loaded_state = self.state

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().from_db(*args, **kwargs)
        instance._loaded_state = instance.__dict__.get("state")
        return instance

    @property
    def is_public(self) -> bool:
        return self.state in self.PUBLIC

    @property
    def is_draft(self) -> bool:
        return self.state == self.State.DRAFT
