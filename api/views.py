"""The API's views: thin, as the staff pages' are (docs/api.md).

Each reads through the staff pages' own rules: the cases a token sees are its user's
(``cases.access.complaints_visible_to``; one case: ``complaint_for_staff``, 404 for one they may not see,
as for one that does not exist), their actions the actions page's (``cases.selectors.actions_visible_to``),
the figures the reports page's (``reports.selectors.report``, parsed by its own form). A list is a page
of at most ``API_MAX_PAGE_SIZE`` rows read in one query, whatever the page size. Every call a token
makes is recorded in the audit trail (``api.services.call_record``), whatever the answer.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from api import serializers
from api.models import ApiToken
from api.services import call_record
from cases import business_days
from cases.access import complaint_for_staff, complaints_visible_to
from cases.models import Complaint, ComplaintEvent
from cases.selectors import actions_visible_to
from reports import selectors as report_selectors
from reports.forms import PERIODS, ReportForm
from reports.permissions import can_read_reports
from reports.selectors import Figures, Period

Scope = ApiToken.Scope


class Pages(CursorPagination):
    """Pages by cursor (``next``/``previous`` links): stable while rows are added, no count to make."""

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE


class NewestFirst(Pages):
    ordering = ("-received_at", "-pk")


class OldestFirst(Pages):
    ordering = ("created_at", "pk")


class EarliestDueFirst(Pages):
    ordering = ("due_date", "pk")


class ApiView(generics.GenericAPIView):
    """A token's call: checked (``api.permissions``), throttled, and recorded whatever the answer."""

    required_scope: str = Scope.CASES
    # What the audit trail says the call did.
    audit_words = "a call"
    # The cases the answer showed (set by the view), each recorded in its audit trail.
    served: list = []

    def initial(self, request, *args, **kwargs) -> None:
        self.served = []
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        token = request.auth
        if isinstance(token, ApiToken):
            call_record(
                request,
                token=token,
                what=self.audit_words,
                complaints=self.served,
                status_code=response.status_code,
            )
        return response

    def filters(self, serializer_class) -> dict:
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def get_serializer_context(self) -> dict:
        token = self.request.auth
        personal = isinstance(token, ApiToken) and token.allows(Scope.PERSONAL_DATA)
        return {**super().get_serializer_context(), "personal": personal}

    def visible_case(self, reference: str) -> Complaint:
        """A case the token's user may see, or 404 (as for one that does not exist)."""
        return complaint_for_staff(self.request.user, reference)


def _distinct_cases(rows) -> list:
    cases = {row.complaint_id: row.complaint for row in rows}
    return list(cases.values())


@extend_schema(parameters=[serializers.CaseFilters])
class CaseList(ApiView, generics.ListAPIView):
    """The complaints the token's user sees on the staff pages, newest first."""

    serializer_class = serializers.CaseSerializer
    pagination_class = NewestFirst
    audit_words = "listed cases"

    def get_queryset(self):
        wanted = self.filters(serializers.CaseFilters)
        cases = complaints_visible_to(self.request.user).select_related("assignee", "category", "root_cause", "appeal")
        if "status" in wanted:
            cases = cases.filter(status=wanted["status"])
        if "updated_since" in wanted:
            cases = cases.filter(updated_at__gte=wanted["updated_since"])
        return cases

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.served = list(page or [])
        return page


class CaseDetail(ApiView, generics.RetrieveAPIView):
    """One complaint, by its reference; 404 for one the token's user may not see."""

    serializer_class = serializers.CaseSerializer
    lookup_field = "reference"
    queryset = Complaint.objects.none()  # for the schema: the case is found by ``visible_case``
    audit_words = "read a case"

    def get_object(self) -> Complaint:
        complaint = self.visible_case(self.kwargs["reference"])
        self.served = [complaint]
        return complaint


@extend_schema(parameters=[serializers.EventFilters])
class EventList(ApiView, generics.ListAPIView):
    """The timeline entries of the complaints the token's user sees (or of one), oldest first.

    Staff entries included (as on the staff case page); an entry's id is the id its webhook carries.
    """

    serializer_class = serializers.EventSerializer
    pagination_class = OldestFirst
    audit_words = "listed timeline events"

    def get_queryset(self):
        wanted = self.filters(serializers.EventFilters)
        if "case" in wanted:
            events = ComplaintEvent.objects.filter(complaint=self.visible_case(wanted["case"]))
        else:
            events = ComplaintEvent.objects.filter(complaint__in=complaints_visible_to(self.request.user))
        if "since" in wanted:
            events = events.filter(created_at__gte=wanted["since"])
        return events.select_related("complaint").only(
            "pk",
            "kind",
            "from_status",
            "to_status",
            "actor_label",
            "summary",
            "client_visible",
            "created_at",
            "complaint__reference",
            "complaint__public_id",
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.served = _distinct_cases(page or [])
        return page


@extend_schema(parameters=[serializers.ActionFilters])
class ActionList(ApiView, generics.ListAPIView):
    """The promised actions the token's user sees on the actions page (or one case's), earliest due first."""

    serializer_class = serializers.ActionSerializer
    pagination_class = EarliestDueFirst
    audit_words = "listed actions"

    def get_queryset(self):
        wanted = self.filters(serializers.ActionFilters)
        actions = actions_visible_to(self.request.user)
        if "case" in wanted:
            actions = actions.filter(complaint=self.visible_case(wanted["case"]))
        if wanted.get("open") is not None:
            actions = actions.filter(done_at__isnull=wanted["open"])
        return actions.select_related("complaint", "owner").only(
            "pk",
            "kind",
            "description",
            "due_date",
            "done_at",
            "from_appeal",
            "created_at",
            "complaint__reference",
            "complaint__public_id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self.served = _distinct_cases(page or [])
        return page


def _counts(rows: list[tuple[str, str, int]]) -> list[dict]:
    return [{"value": value, "label": label, "count": n} for value, label, n in rows]


def _figures(figures: Figures, period: Period) -> dict:
    """The figures as ``FiguresSerializer`` reads them (the (value, label, count) rows as objects)."""
    return {
        "period": {"first": period.first, "last": period.last},
        "received": figures.received,
        "by_channel": _counts(figures.by_channel),
        "by_category": figures.by_category,
        "by_root_cause": figures.by_root_cause,
        "acknowledgement": figures.acknowledgement,
        "outcome": figures.outcome,
        "appeal": figures.appeal,
        "outcomes": _counts(figures.outcomes),
        "responded": figures.responded,
        "withdrawn": figures.withdrawn,
        "appealed": figures.appealed,
        "appeal_rate": figures.appeal_rate,
        "appeals_decided": figures.appeals_decided,
        "appeals_changed": figures.appeals_changed,
        "changed_share": figures.changed_share,
        "medians": figures.medians,
        "actions": figures.actions,
    }


def _form_errors(form) -> dict[str, list[str]]:
    return {
        "non_field_errors" if field == "__all__" else field: [str(error) for error in errors]
        for field, errors in form.errors.items()
    }


@extend_schema(
    parameters=[
        OpenApiParameter("period", str, enum=[value for value, _ in PERIODS], description="Default: year."),
        OpenApiParameter("year", int, description="Default: this year."),
        OpenApiParameter("month", int, description="1-12, with period=month."),
        OpenApiParameter("quarter", int, description="1-4, with period=quarter."),
        OpenApiParameter("date_from", OpenApiTypes.DATE, description="With period=custom."),
        OpenApiParameter("date_to", OpenApiTypes.DATE, description="With period=custom (at most three years on)."),
        OpenApiParameter("category", int, description="A category's id."),
        OpenApiParameter("channel", str, enum=Complaint.Channel.values),
        OpenApiParameter("manager", int, description="A manager's user id."),
    ],
    responses=serializers.FiguresSerializer,
)
class ReportFigures(ApiView):
    """The reports page's figures for a period (complaints leads and Directors, as on the reports page)."""

    required_scope = Scope.REPORTS
    serializer_class = serializers.FiguresSerializer
    audit_words = "read the report figures"

    @staticmethod
    def role_allows(user) -> bool:
        return can_read_reports(user)

    def get(self, request) -> Response:
        form = ReportForm(request.query_params, today=business_days.london_today())
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        figures = report_selectors.report(form.report_period, form.report_filters)
        return Response(self.get_serializer(_figures(figures, form.report_period)).data)
