"""The staff dashboard (issue 3, item 2): tabs, filters, search and pages of cases.

The filter form only parses the query string; ``cases.selectors.complaint_dashboard``
decides what the user sees (never a case outside ``complaints_visible_to``). A bad
filter value is reported next to its field and left out; the rest still applies.

Complaints leads tick cases and change them together (``bulk_change``, a plain form POST:
each row's checkbox carries the case and the revision the row showed; ``cases.bulk``
changes each through its own service). What happened is kept in the session and shown
once, above the list the lead came from.

"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import forbidden, staff_required
from audit.registry import CHANGE
from audit.services import audit_cases
from cases import bulk, permissions, selectors
from cases.models import Category, Complaint

LOG_PERMISSION = "cases.log_complaint"


@dataclass(frozen=True)
class FilterMenu:
    """One filter of the panel as templates/staff/dashboard.html draws it."""

    name: str
    id: str
    label: str
    value: str
    errors: list
    options: list[tuple[str, str, bool]] | None  # (value, label, chosen); None: a date box


class DashboardFilterForm(forms.Form):
    """The dashboard's GET form: works without JavaScript, every field optional."""

    tab = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Reference, name, email, organisation or words of the description.",
    )
    state = forms.ChoiceField(label="State", required=False)
    assignee = forms.ChoiceField(label="Assigned to", required=False)
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any channel"), *Complaint.Channel.choices]
    )
    category = forms.TypedChoiceField(label="Category", required=False, coerce=int, empty_value=None)
    due_before = forms.DateField(
        label="Due on or before", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    received_from = forms.DateField(
        label="Received from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = forms.DateField(label="Received to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(label="Sort by", required=False, choices=list(selectors.SORT_LABELS.items()))
    per_page = forms.TypedChoiceField(
        label="Per page",
        required=False,
        coerce=int,
        empty_value=selectors.DEFAULT_PAGE_SIZE,
        choices=[(size, str(size)) for size in selectors.PAGE_SIZES],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    # Shown next to the search box, not in the filter panel.
    FILTER_FIELDS = ("state", "assignee", "channel", "category", "due_before", "received_from", "received_to")
    # What the order and page-size menus show chosen when the address does not say.
    DEFAULTS = {"sort": selectors.SORT_DUE, "per_page": str(selectors.DEFAULT_PAGE_SIZE)}

    def __init__(self, data, *, options: selectors.DashboardOptions, **kwargs):
        data = data.copy()
        for name, value in self.DEFAULTS.items():
            if not data.get(name):
                data[name] = value
        super().__init__(data, **kwargs)
        self.fields["state"].choices = [
            ("", "Open (default)"),
            (selectors.STATE_OPEN, "Open cases only"),
            (selectors.STATE_ANY, "Any state"),
            *Complaint.Status.choices,
        ]
        people = [(str(pk), label) for pk, label in options.assignees] if options.is_lead else []
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            (selectors.ASSIGNEE_ME, "Me"),
            (selectors.ASSIGNEE_NONE, "Nobody (unassigned)"),
            *people,
        ]
        self.fields["category"].choices = [
            ("", "Any category"),
            *[(pk, name if active else f"{name} (no longer used)") for pk, name, active in options.categories],
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("received_from"), cleaned.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", "The end of the period must not be before its start.")
        return cleaned

    def filters(self) -> selectors.DashboardFilters:
        """The checked values; a field with an error is left out (its message is shown)."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        if "received_to" in self.errors:
            data.pop("received_from", None)
        return selectors.DashboardFilters(
            tab=data.get("tab") or "",
            q=(data.get("q") or "").strip(),
            state=data.get("state") or "",
            assignee=data.get("assignee") or "",
            channel=data.get("channel") or "",
            category=data.get("category"),
            due_before=data.get("due_before"),
            received_from=data.get("received_from"),
            received_to=data.get("received_to"),
            sort=data.get("sort") or selectors.SORT_DUE,
            per_page=data.get("per_page") or selectors.DEFAULT_PAGE_SIZE,
            page=data.get("page") or 1,
        )

    def menus(self) -> list[FilterMenu]:
        """The filter panel: each filter with its current value, its error and (a menu) its options."""
        menus = []
        for name in (*self.FILTER_FIELDS, "sort", "per_page"):
            bound = self[name]
            value = bound.value()
            current = "" if value is None else str(value)
            choices = getattr(bound.field, "choices", None)
            options = None if choices is None else [(str(key), label, str(key) == current) for key, label in choices]
            menus.append(FilterMenu(name, bound.id_for_label, bound.label, current, bound.errors, options))
        return menus

    @property
    def visible_errors(self) -> list[str]:
        """Errors worth telling (a bad page number or tab just falls back to the first)."""
        return [
            f"{self.fields[name].label}: {message}"
            for name, messages in self.errors.items()
            if name not in ("page", "tab", "__all__")
            for message in messages
        ]


@never_cache
@require_GET
@staff_required
def dashboard(request):
    """The staff home: the cases that are the user's to work, by tab, filtered, searched and paged.

    Directors (who work appeals in the admin) get a page pointing there instead.
    """
    user = request.user
    context = {"can_log": user.has_perm(LOG_PERMISSION), "works_cases": permissions.is_case_worker(user)}
    if not context["works_cases"]:
        return render(request, "staff/dashboard.html", context)
    options = selectors.dashboard_options(user=user)
    form = DashboardFilterForm(request.GET, options=options)
    filters = form.filters()
    board = selectors.complaint_dashboard(user=user, filters=filters, options=options)
    board = selectors.with_extras(board, user=user)
    context.update(
        form=form,
        filters=filters,
        board=board,
        filters_active=any(getattr(filters, name) for name in DashboardFilterForm.FILTER_FIELDS),
        is_lead=options.is_lead,
    )
    if options.is_lead:
        stored = request.session.pop(BULK_RESULT, None)
        unticked = request.GET.copy()
        unticked.pop("select", None)
        ticked = unticked.copy()
        ticked["select"] = "all"
        context.update(
            bulk_result=bulk.BulkResult.from_data(stored) if stored else None,
            # Without JavaScript: "tick all" is this page again with every box ticked.
            select_all=request.GET.get("select") == "all",
            here=unticked.urlencode(),
            tick_all_url=f"?{ticked.urlencode()}",
            untick_all_url=f"?{unticked.urlencode()}",
            bulk_assignees=options.assignees,
            bulk_categories=[(pk, name) for pk, name, active in options.categories if active],
            bulk_days=range(1, bulk.MAX_EXTENSION_DAYS + 1),
        )
    return render(request, "staff/dashboard.html", context)


# The session key of the last bulk change's result, shown once on the dashboard.
BULK_RESULT = "bulk_result"
BULK_ACTIONS = ("assign", "categorise", "extend")


def _back(query: str) -> str:
    """The dashboard with the lead's tab, filters and page (parsed and written again: nothing else passes)."""
    kept = QueryDict(query[:2000], mutable=True)
    kept.pop("select", None)
    return reverse("staff:home") + (f"?{kept.urlencode()}" if kept else "")


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 6 else None


@never_cache
@require_POST
@staff_required
def bulk_change(request):
    """A complaints lead's change to the ticked cases: each through its own service (``cases.bulk``), the result
    shown once on the dashboard they came from (303 back there)."""
    user = request.user
    if not permissions.is_lead(user):
        return forbidden(request, "Only a complaints lead can change several cases at once.")
    action = request.POST.get("action", "")
    ticked = [bulk.Selected.parse(value) for value in request.POST.getlist("cases")]
    selected = [case for case in ticked if case is not None]
    try:
        if action == "assign":
            pk = _number(request.POST.get("assignee", ""))
            assignee = get_user_model().objects.filter(pk=pk).first() if pk else None
            result = bulk.complaints_bulk_assign(actor=user, selected=selected, assignee=assignee)
        elif action == "categorise":
            pk = _number(request.POST.get("category", ""))
            category = Category.objects.filter(pk=pk).first() if pk else None
            result = bulk.complaints_bulk_categorise(actor=user, selected=selected, category=category)
        elif action == "extend":
            days = _number(request.POST.get("days", ""))
            reason = request.POST.get("reason", "")[:2000]
            result = bulk.complaints_bulk_extend(actor=user, selected=selected, days=days, reason=reason)
        else:
            raise ValidationError({"action": ["Choose what to do with the ticked cases."]})
    except ValidationError as refusal:
        result = bulk.BulkResult("Nothing was changed", problem=" ".join(refusal.messages))
    changed = [case.reference for case in result.changed]
    if changed:
        audit_cases(
            request,
            action=CHANGE,
            description=f"Changed in bulk: {result.action}"[:200],
            complaints=Complaint.objects.filter(reference__in=changed).only("pk", "reference"),
        )
    request.session[BULK_RESULT] = result.as_data()
    response = redirect(_back(request.POST.get("here", "")))
    response.status_code = 303  # See Other: reloading the dashboard never posts again
    return response
