"""The admin for complaints data: closure days, categories and reusable paragraphs are edited here; complaints,
their emails and their letters are only read.

Complaints come in and change state only through ``cases.services`` (the public
form, staff intake, the staff workspace), so the complaint pages here are
read-only, with no add or delete. The admin holds no rules of its own: who sees
which case is ``cases.permissions``, the calendar cache follows closure-day
changes through ``cases.signals``.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from cases import permissions
from cases.models import Attachment, Category, ClosureDay, Complaint, ComplaintEvent, Paragraph, RootCause
from cases.references import parse_reference
from jpdit_complaints.admin_mixins import ReadOnlyAdminMixin
from notifications.models import Letter, OutboundMessage


@admin.register(ClosureDay)
class ClosureDayAdmin(admin.ModelAdmin):
    """Company closure days: no deadline falls on them (administrators only, by permission)."""

    list_display = ("date", "weekday", "reason")
    ordering = ("date",)
    date_hierarchy = "date"
    search_fields = ("reason",)

    @admin.display(description="day", ordering="date")
    def weekday(self, obj: ClosureDay) -> str:
        return f"{obj.date:%A}"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    list_filter = ("active",)
    search_fields = ("name",)


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    """Why complaints arise, as investigations find it: chosen with each outcome (administrators keep the list)."""

    list_display = ("name", "active")
    list_filter = ("active",)
    search_fields = ("name", "description")


@admin.register(Paragraph)
class ParagraphAdmin(admin.ModelAdmin):
    """Reusable paragraphs staff insert into updates, questions to the client and findings (administrators)."""

    list_display = ("title", "active")
    list_filter = ("active",)
    search_fields = ("title", "text")


class ComplaintEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ComplaintEvent
    fields = ("created_at", "kind", "from_status", "to_status", "actor_label", "summary", "client_visible")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "timeline"

    def has_view_permission(self, request, obj=None) -> bool:
        # The timeline is part of the case: whoever may view the complaint sees it.
        return request.user.has_perm("cases.view_complaint")


class AttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attachment
    # No file link: documents are private and downloaded only through the staff pages' checks.
    fields = ("original_name", "content_type", "size", "source", "uploaded_by", "uploaded_at", "sha256")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("cases.view_complaint")


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "name",
        "status",
        "channel",
        "received_at",
        "acknowledgement_due",
        "outcome_due",
    )
    list_filter = ("status", "channel", "category")
    search_fields = ("reference",)
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    list_select_related = ("category",)
    readonly_fields = ("reference", "public_id", "created_at", "updated_at")
    inlines = (ComplaintEventInline, AttachmentInline)
    show_full_result_count = False

    def has_view_permission(self, request, obj=None) -> bool:
        # Only people who work cases (and administrators) read complaints here: a Director reads
        # a complaint through its appeal (appeals.admin), never as a list of complaints.
        user = request.user
        return user.is_superuser or (permissions.is_case_worker(user) and super().has_view_permission(request, obj))

    def get_queryset(self, request):
        # The same rule as the staff pages: nobody sees a case they have no role in.
        return Complaint.objects.visible_to(request.user)

    def get_search_results(self, request, queryset, search_term):
        # A reference read out on the phone ("jpd 2026 00042 k") finds its case exactly.
        parsed = parse_reference(search_term)
        if parsed is not None:
            return queryset.filter(reference=str(parsed)), False
        return super().get_search_results(request, queryset, search_term)


# --- The emails (and webhook deliveries) and letters of the cases (notifications' models), read-only -------


class OnlyVisibleCasesMixin:
    """Rows tied to a case are shown only to someone who may see that case."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("complaint")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(complaint__in=Complaint.objects.visible_to(request.user))


@admin.register(OutboundMessage)
class OutboundMessageAdmin(OnlyVisibleCasesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "complaint",
        "to_email",
        "endpoint",
        "state",
        "attempts",
        "sent_at",
        "last_error",
    )
    list_filter = ("state", "kind")
    list_select_related = ("complaint", "endpoint")
    search_fields = ("complaint__reference", "dedupe_key")
    date_hierarchy = "created_at"
    fields = (
        "kind",
        "complaint",
        "to_email",
        "endpoint",
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
