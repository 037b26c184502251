"""Who holds a permission: the one query for "the users holding permission X".

Django's ``User.objects.with_perm`` (ModelBackend) counts a permission granted through a
group and one granted to the user directly; superusers only when they were granted it (a bare
superuser is an administrator, not a complaints lead or a Director).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

# The backend that holds permissions (django-axes' backend, listed first, only throttles sign-in).
PERMISSIONS_BACKEND = "accounts.backends.PermissionBackend"


def users_with_perm(perm: str) -> QuerySet:
    """Active users holding ``perm`` (``"app_label.codename"``), through a group or directly."""
    return get_user_model().objects.with_perm(
        perm, is_active=True, include_superusers=False, backend=PERMISSIONS_BACKEND
    )
