"""Staff accounts are Django's users and groups, and django-otp's devices; this app adds one table.

``IdentityLink``: a staff account's identity at the firm's identity provider, when staff sign in
through it (OpenID Connect single sign-on, ``accounts.identity``). The groups are kept in line with
``accounts.roles`` after every ``migrate`` (``post_migrate``, which Django sends to apps with models).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdentityLink(models.Model):
    """The account someone signs in to through the identity provider: found by the provider's subject
    ("sub", unique under its issuer), whatever their email address becomes."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity_link")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="identity_link_one_per_subject")]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
