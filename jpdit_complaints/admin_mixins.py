"""Admin building blocks every app's admin may use (infrastructure: imports only Django)."""

from __future__ import annotations

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Viewable by whoever may view the model; never added, changed or deleted in the admin.

    For records only services write (complaints, emails, letters, the audit trail, appeals):
    the admin shows them and holds no rules of its own.
    """

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        # Django's bulk "delete selected" would bypass has_delete_permission's spirit on a list page.
        return {}
