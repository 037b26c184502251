"""The outbox and the letters, read-only: what was sent, to whom, and whether it went.

Messages are written and sent only by ``notifications.services``; the admin shows
them so an administrator can see a failed or waiting email at a glance.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from cases.admin import ReadOnlyAdminMixin
from cases.models import Complaint
from notifications.models import Letter, OutboundMessage


class OnlyVisibleCasesMixin:
    """Rows tied to a case are shown only to someone who may see that case."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("complaint")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(complaint__in=Complaint.objects.visible_to(request.user))


@admin.register(OutboundMessage)
class OutboundMessageAdmin(OnlyVisibleCasesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "complaint", "to_email", "state", "attempts", "sent_at", "last_error")
    list_filter = ("state", "kind")
    search_fields = ("complaint__reference", "dedupe_key")
    date_hierarchy = "created_at"
    fields = (
        "kind",
        "complaint",
        "to_email",
        "client_visible",
        "state",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "dedupe_key",
        "message_id",
        "subject",
        "body_text",
        "letter",
    )
    readonly_fields = fields


@admin.register(Letter)
class LetterAdmin(OnlyVisibleCasesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "complaint", "client_visible", "download")
    list_filter = ("kind",)
    search_fields = ("complaint__reference",)
    fields = ("kind", "complaint", "created_at", "client_visible", "download")
    readonly_fields = fields

    @admin.display(description="PDF")
    def download(self, obj: Letter) -> str:
        # Through the staff page, which checks the user may have it (the file itself is private).
        url = reverse("staff:letter_download", args=[obj.complaint.reference, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.download_name)
