"""Links to the identity provider in the admin: seen, and removed by an administrator (nothing else changes them).

Removing a link lets the account sign in with its password again while single sign-on is on
(accounts.identity); the person's next sign-in through the provider links it again.
"""

from django.contrib import admin

from accounts.models import IdentityLink


@admin.register(IdentityLink)
class IdentityLinkAdmin(admin.ModelAdmin):
    list_display = ("user", "issuer", "linked_at")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
