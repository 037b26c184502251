"""The audit trail: who looked at, downloaded, exported or changed which case, when and from where.

Append-only. Rows are written by ``audit.middleware.AuditMiddleware`` (one INSERT
per audited request) and by ``audit.services`` for work that names no case in its
URL (a data-subject export). Nothing in the product updates or deletes a row:
``save()`` refuses to change a stored row, ``delete()`` refuses, and so do the
queryset's bulk ``update()`` and ``delete()``; the admin shows the log read-only
to everyone, superusers included.

The case and the user are foreign keys for joins, with snapshots (reference,
username) beside them, so an entry keeps saying what it said if the user account
is removed (the keys are then set to NULL by the database's own cascade rule,
the only change a row can undergo). No client personal data is written here: the
description is fixed text per action, the path is the URL without its query string.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    """An attempt to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnly("Audit entries cannot be deleted.")

    def for_case(self, complaint):
        return self.filter(complaint=complaint).select_related("user").order_by("-at", "-pk")


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        DOWNLOAD = "download", "Downloaded"
        EXPORT = "export", "Exported"
        CHANGE = "change", "Changed"

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=10, choices=Action.choices)
    description = models.CharField(max_length=200)
    complaint = models.ForeignKey(
        "cases.Complaint", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    reference = models.CharField(max_length=24, blank=True)
    # The object within the case (an attachment, a letter, an action), if the URL names one.
    object_kind = models.CharField(max_length=30, blank=True)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=10)
    # Without the query string: a search box may carry a client's name.
    path = models.CharField(max_length=500)
    url_name = models.CharField(max_length=100, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["complaint", "-at"], name="audit_complaint_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.reference or self.path}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit entries cannot be changed.")
        # Never an UPDATE, even if a primary key was given by hand.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit entries cannot be deleted.")
