"""Tokens other systems call the API with (``api.services``; issued and revoked by the administrator in the admin).

A token acts as one named member of staff: it sees what they see on the staff pages, and nothing once
they are switched off or lose their role. Its scopes narrow what it may read. Only a SHA-256 hash of the
key is kept (the key is 256 random bits: a slow hash adds nothing); the key itself is shown once, when
the token is issued. A token expires, may be revoked, and is never deleted: the audit trail names it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        CASES = "cases:read", "Complaints, timelines, actions"
        PERSONAL_DATA = "personal_data:read", "With the client's personal data"
        REPORTS = "reports:read", "The report figures"

    name = models.CharField(max_length=100, unique=True, help_text="The system that uses it, for example: the CRM.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        verbose_name="acts as",
        help_text="The member of staff whose access the token has: it sees only what they see.",
    )
    # The key's first characters, to recognise it (in the admin and the audit trail); the rest is never kept.
    key_prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    expires_at = models.DateTimeField("expires")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Written at most once a minute (api.services.token_touch), not on every call.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def refusal(self, *, now: datetime) -> str:
        """Why the token cannot be used now, or "" if it can (its user's role is checked on each call)."""
        if self.revoked_at is not None:
            return "This token was revoked."
        if self.expires_at <= now:
            return "This token has expired."
        if not self.user.is_active:
            return "This token's user is switched off."
        return ""

    def allows(self, scope: str) -> bool:
        return scope in self.scopes
