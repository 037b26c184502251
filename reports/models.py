"""The reports' summary of past months (reports.summary builds it; reports.selectors reads it).

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

from django.db import models


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
