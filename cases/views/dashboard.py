"""The staff dashboard (issue 3, item 2): tabs, filters, search and pages of cases.

The filter form only parses the query string; ``cases.selectors.complaint_dashboard``
decides what the user sees (never a case outside ``complaints_visible_to``). A bad
filter value is reported next to its field and left out; the rest still applies.

"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import staff_required
from cases import permissions, selectors
from cases.models import Complaint

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
    return render(request, "staff/dashboard.html", context)
