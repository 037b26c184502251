"""The reports page's choice of period and filters (a GET form: every report has its own address)."""

from __future__ import annotations

import calendar
from datetime import date

from django import forms

from cases.models import Category, Complaint
from cases.permissions import assignable_users
from reports.selectors import Filters, Period

PERIODS = [("month", "Month"), ("quarter", "Quarter"), ("year", "Year"), ("custom", "From … to …")]
LONGEST_CUSTOM_DAYS = 3 * 366


class ReportForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, initial="year")
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    month = forms.TypedChoiceField(
        choices=[(n, calendar.month_name[n]) for n in range(1, 13)], coerce=int, required=False
    )
    quarter = forms.TypedChoiceField(choices=[(n, f"Q{n}") for n in range(1, 5)], coerce=int, required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, empty_label="All categories")
    channel = forms.ChoiceField(choices=[("", "All channels"), *Complaint.Channel.choices], required=False)
    manager = forms.ModelChoiceField(queryset=None, required=False, empty_label="All managers")

    def __init__(self, data=None, *, today: date) -> None:
        self.today = today
        defaults = {"period": "year", "year": today.year, "month": today.month, "quarter": (today.month - 1) // 3 + 1}
        super().__init__({**defaults, **{k: v for k, v in (data or {}).items() if v != ""}})
        self.fields["manager"].queryset = assignable_users()
        self.fields["manager"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        for bound in self:
            css = "form-select form-select-sm" if isinstance(bound.field.widget, forms.Select) else "form-control"
            bound.field.widget.attrs["class"] = css + (" form-control-sm" if css == "form-control" else "")

    def clean(self):
        data = super().clean()
        kind = data.get("period")
        year = data.get("year") or self.today.year
        if kind == "month":
            data["report_period"] = Period.month(year, data.get("month") or self.today.month)
        elif kind == "quarter":
            data["report_period"] = Period.quarter(year, data.get("quarter") or 1)
        elif kind == "year":
            data["report_period"] = Period.year(year)
        elif kind == "custom":
            first, last = data.get("date_from"), data.get("date_to")
            if not first or not last:
                raise forms.ValidationError("Give both dates of a custom period.")
            if last < first:
                raise forms.ValidationError("The period must end on or after the day it starts.")
            if (last - first).days > LONGEST_CUSTOM_DAYS:
                raise forms.ValidationError("A custom period can be at most three years long.")
            data["report_period"] = Period.custom(first, last)
        return data

    @property
    def report_period(self) -> Period:
        return self.cleaned_data["report_period"]

    @property
    def report_filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            category_id=data["category"].pk if data.get("category") else None,
            channel=data.get("channel") or "",
            manager_id=data["manager"].pk if data.get("manager") else None,
        )
