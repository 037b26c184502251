"""The audit trail in the admin: read-only for everyone, superusers included."""

from django.contrib import admin

from audit.models import AuditEntry
from jpdit_complaints.admin_mixins import ReadOnlyAdminMixin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "username", "action", "description", "reference", "ip_address", "method", "status_code")
    list_filter = ("action", "method")
    search_fields = ("reference", "username")
    date_hierarchy = "at"
    list_select_related = False
    show_full_result_count = False

    # Nobody changes the record of what happened, not a superuser either (ReadOnlyAdminMixin).

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]
