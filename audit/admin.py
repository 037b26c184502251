"""The audit trail in the admin: read-only for everyone, superusers included."""

from django.contrib import admin

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "description", "reference", "ip_address", "method", "status_code")
    list_filter = ("action", "method")
    search_fields = ("reference", "username")
    date_hierarchy = "at"
    list_select_related = False
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    # Nobody changes the record of what happened: not staff, not a superuser.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}
