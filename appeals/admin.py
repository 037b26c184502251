"""The Director's workspace: appeals in the Django admin.

The list shows what is waiting and what is late; an appeal's page shows the
whole case file read-only (the complaint, its documents and timeline, the
outcome letter, the appeal's reasons and documents) and, until the appeal is
decided, the decision form with a preview of the letter and one button that
issues it. Every change goes through ``appeals.services``; who may see and
decide is ``appeals.permissions``. Appeals are never added, edited or deleted
here: they arrive through the client's page or the staff pages, and a decision
is final.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from appeals import permissions, services
from appeals.forms import DecisionEntry
from appeals.models import Appeal
from cases import business_days
from cases.deadlines import deadline_label
from cases.downloads import private_file_response
from cases.models import Complaint, TransitionNotAllowed
from cases.permissions import assignable_users
from cases.references import parse_reference
from cases.services import OUTCOME_LETTER, StaleCase
from jpdit_complaints.admin_mixins import ReadOnlyAdminMixin
from notifications import letters

Status = Appeal.Status


class OverdueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("on_time", "Not overdue")]

    def queryset(self, request, queryset):
        today = business_days.london_today()
        if self.value() == "overdue":
            return queryset.overdue(today)
        if self.value() == "on_time":
            return queryset.exclude(queryset.due_q(lt=today))
        return queryset


class DueThisWeekFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("this_week", "This week (Monday to Sunday)"), ("next_business_day", "By the next business day")]

    def queryset(self, request, queryset):
        today = business_days.london_today()
        if self.value() == "this_week":
            monday = today - dt.timedelta(days=today.weekday())
            return queryset.with_current_due().filter(current_due__range=(monday, monday + dt.timedelta(days=6)))
        if self.value() == "next_business_day":
            return queryset.due_by(business_days.add_business_days(today, 1)).exclude(queryset.due_q(before=today))
        return queryset


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "complainant", "received", "due", "deadline", "state")
    list_filter = ("status", OverdueFilter, DueThisWeekFilter)
    search_fields = ("complaint__reference",)
    search_help_text = "Search by reference, e.g. JPD-2026-00042-K (spaces and case do not matter)."
    list_select_related = ("complaint",)
    list_per_page = 50
    show_full_result_count = False
    change_form_template = "admin/appeals/appeal/change_form.html"

    # -- who sees what: Directors only (appeals.permissions) -----------------------

    def has_module_permission(self, request) -> bool:
        return permissions.is_director(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.is_director(request.user)

    # -- the list ------------------------------------------------------------------

    def get_queryset(self, request):
        queryset = super().get_queryset(request).with_current_due()
        # Nobody else finds an appeal here, not even by its id: Django's history page looks the
        # object up before checking permissions, so an existing appeal would answer 403 where a
        # missing one redirects (tests/test_access_matrix.py).
        return queryset if permissions.is_director(request.user) else queryset.none()

    def get_ordering(self, request):
        # What falls due first comes first; decided appeals (no due date) last, newest first.
        return [F("current_due").asc(nulls_last=True), "-received_at"]

    def get_search_results(self, request, queryset, search_term):
        # A reference read out on the phone ("jpd 2026 00042 k") finds its appeal exactly.
        parsed = parse_reference(search_term)
        if parsed is not None:
            return queryset.filter(complaint__reference=str(parsed)), False
        return super().get_search_results(request, queryset, search_term.strip().upper())

    @admin.display(description="reference", ordering="complaint__reference")
    def reference(self, obj: Appeal) -> str:
        return obj.complaint.reference

    @admin.display(description="complainant", ordering="complaint__name")
    def complainant(self, obj: Appeal) -> str:
        complaint = obj.complaint
        return f"{complaint.name} ({complaint.organisation})" if complaint.organisation else complaint.name

    @admin.display(description="received", ordering="received_at")
    def received(self, obj: Appeal) -> str:
        return business_days.london_date(obj.received_at).strftime("%a %-d %b %Y")

    @admin.display(description="due", ordering="current_due")
    def due(self, obj: Appeal) -> str:
        if obj.current_due is None:
            return "—"
        what = "acknowledgement" if obj.status == Status.RECEIVED else "decision"
        return f"{obj.current_due:%a %-d %b %Y} ({what})"

    @admin.display(description="deadline")
    def deadline(self, obj: Appeal):
        # The words every page uses ("due today", "due in N business days", "overdue by N business days").
        if obj.current_due is None:
            return "decided"
        label = deadline_label(obj.current_due)
        if obj.current_due < business_days.london_today():
            return format_html('<strong class="appeal-overdue">{}</strong>', label.upper())
        return label

    @admin.display(description="state", ordering="status")
    def state(self, obj: Appeal) -> str:
        return obj.get_status_display()

    # -- the appeal's page ---------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/review/", wrap(self.review_view), name="appeals_appeal_review"),
            path("<int:pk>/preview/", wrap(self.preview_view), name="appeals_appeal_preview"),
            path("<int:pk>/decide/", wrap(self.decide_view), name="appeals_appeal_decide"),
            path(
                "<int:pk>/document/<int:attachment_id>/",
                wrap(self.attachment_view),
                name="appeals_appeal_attachment",
            ),
            path("<int:pk>/letter/<int:letter_id>/", wrap(self.letter_view), name="appeals_appeal_letter"),
            *super().get_urls(),
        ]

    def _appeal(self, request, pk) -> Appeal:
        if not self.has_view_permission(request):
            raise Http404
        return get_object_or_404(Appeal.objects.select_related("complaint", "complaint__category"), pk=pk)

    def _owners(self):
        return assignable_users()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            raise PermissionDenied  # every change has its own POST view
        try:
            pk = int(object_id)
        except ValueError:
            raise Http404 from None
        appeal = self._appeal(request, pk)
        entry = DecisionEntry(owners=self._owners(), revision=appeal.revision)
        return self._render(request, appeal, entry)

    def _render(self, request, appeal: Appeal, entry: DecisionEntry | None, status: int = 200):
        complaint: Complaint = appeal.complaint
        attachments = list(complaint.attachments.select_related("uploaded_by"))
        letters = list(complaint.letters.all())
        problem = permissions.independence_problem(request.user, complaint)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Appeal on {complaint.reference}",
            "subtitle": None,
            "appeal": appeal,
            "complaint": complaint,
            "complaint_documents": [a for a in attachments if not a.for_appeal],
            "appeal_documents": [a for a in attachments if a.for_appeal],
            "events": complaint.events.select_related("actor"),
            "letters": letters,
            "outcome_letter": next((x for x in letters if x.kind == OUTCOME_LETTER), None),
            "decision_letter": next((x for x in letters if x.kind == services.DECISION_LETTER), None),
            "actions": complaint.actions.select_related("owner"),
            "overdue_days": appeal.business_days_overdue(),
            "independence_problem": problem,
            "can_start_review": not problem and appeal.status == Status.ACKNOWLEDGED,
            "can_decide": not problem and appeal.decision_owed,
            "entry": entry if not appeal.is_decided else None,
            "has_view_permission": True,
            "has_change_permission": False,
            "original": appeal,
        }
        return TemplateResponse(request, self.change_form_template, context, status=status)

    @staticmethod
    def _refused(request, appeal: Appeal, error: Exception) -> HttpResponseRedirect:
        messages.error(request, str(error.args[0] if error.args else error))
        return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    def review_view(self, request, pk):
        return require_POST(self._review)(request, pk)

    def _review(self, request, pk):
        appeal = self._appeal(request, pk)
        try:
            revision = int(request.POST.get("expected_revision", ""))
        except ValueError:
            revision = None
        try:
            services.appeal_start_review(actor=request.user, appeal=appeal, expected_revision=revision)
        except (PermissionDenied, StaleCase, ValidationError) as error:
            return self._refused(request, appeal, error)
        except TransitionNotAllowed as error:
            return self._refused(request, appeal, error)
        messages.success(request, f"You are now reviewing the appeal on {appeal.reference}.")
        return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    def preview_view(self, request, pk):
        return require_POST(self._preview)(request, pk)

    def _preview(self, request, pk):
        """The decision letter as the client would get it, as a PDF (nothing is saved)."""
        appeal = self._appeal(request, pk)
        entry = DecisionEntry(request.POST, owners=self._owners(), revision=appeal.revision)
        if not entry.is_valid():
            return self._render(request, appeal, entry, status=400)
        try:
            pdf = services.decision_letter_preview(actor=request.user, appeal=appeal, **entry.as_kwargs())
        except PermissionDenied as error:
            return self._refused(request, appeal, error)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{appeal.reference}-decision-PREVIEW.pdf"'
        # A PDF shown in the browser's viewer: the page policy (object-src 'none') would stop the viewer.
        response._csp_exempt = True
        response["Cache-Control"] = "no-store, private"
        return response

    def decide_view(self, request, pk):
        return require_POST(self._decide)(request, pk)

    def _decide(self, request, pk):
        appeal = self._appeal(request, pk)
        entry = DecisionEntry(request.POST, owners=self._owners(), revision=appeal.revision)
        if not entry.is_valid():
            return self._render(request, appeal, entry, status=400)
        if not entry.form.cleaned_data.get("confirm"):
            entry.form.add_error(
                "confirm", "Preview the letter, then tick this box to confirm: the decision cannot be changed."
            )
            return self._render(request, appeal, entry, status=400)
        try:
            services.appeal_decide(
                actor=request.user,
                appeal=appeal,
                expected_revision=entry.form.cleaned_data["expected_revision"],
                **entry.for_decision(),
            )
        except ValidationError as error:
            entry.add_service_errors(error)
            return self._render(request, appeal, entry, status=400)
        except StaleCase as error:
            appeal.refresh_from_db()
            entry.form.add_error(None, str(error))
            return self._render(request, appeal, entry, status=409)
        except (PermissionDenied, TransitionNotAllowed) as error:
            return self._refused(request, appeal, error)
        messages.success(
            request,
            f"The final decision on {appeal.reference} has been issued. The letter is on the case"
            + (
                " and is being emailed to the client."
                if appeal.complaint.email_recipients
                else "; print it and post it to the client."
            ),
        )
        return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    def attachment_view(self, request, pk, attachment_id):
        appeal = self._appeal(request, pk)
        attachment = get_object_or_404(appeal.complaint.attachments, pk=attachment_id)
        return private_file_response(
            attachment.file, filename=attachment.original_name, content_type=attachment.content_type
        )

    def letter_view(self, request, pk, letter_id):
        appeal = self._appeal(request, pk)
        letter = get_object_or_404(appeal.complaint.letters, pk=letter_id)
        letter = letters.letter_file(letter)  # made now if it was not stored after its commit
        return private_file_response(letter.file, filename=letter.download_name, content_type="application/pdf")
