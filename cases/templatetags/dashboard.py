"""The dashboard's table rows, tabs and page links, drawn in Python.

A page may hold 100 rows. Through the template language each row cost about
0.1 ms (a dozen look-ups and conditions), and through ``format_html`` nearly as
much (its lazy-string checks on every argument), more than the database work for
the whole page. Like the admin's change list (``items_for_result`` builds its cells
in Python), the rows are built here with plain string formatting; every value
from the database goes through ``escape`` (``html.escape``, which is what Django's
``escape`` calls), and only the finished markup is marked safe.
The deadline words come from ``cases.deadlines``.
"""

from __future__ import annotations

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from cases import deadlines
from cases.business_days import LONDON
from cases.deadlines import OVERDUE, deadline_label, deadline_state
from cases.models import Complaint
from cases.templatetags.deadlines import BADGE_CLASSES

register = template.Library()

_STATUS_LABELS = {value: escape(label) for value, label in Complaint.Status.choices}
_CHANNEL_LABELS = {value: escape(label) for value, label in Complaint.Channel.choices}
_UNASSIGNED = '<span class="text-body-secondary">Unassigned</span>'
_CLOCK_STOPPED = '<span class="text-body-secondary">Clock stopped: waiting for the client</span>'
_NO_DEADLINE = '<span class="text-body-secondary">None running</span>'
# What the running promise asks for, in a row's deadline cell.
_STEPS = {deadlines.Deadline.ACKNOWLEDGEMENT: "Acknowledge", deadlines.Deadline.OUTCOME: "Outcome"}


# What ``%a`` and ``%b`` give (Python leaves the C library's time locale at "C"), looked up:
# strftime cost 3 us a date, two dates a row.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(day) -> str:
    """``Tue 1 Dec 2026`` (as ``f"{day:%a} {day.day} {day:%b %Y}"``)."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _secondary(text: str) -> str:
    return f'<span class="d-block small text-body-secondary">{escape(text)}</span>' if text else ""


def _deadline(row, today, memo: dict | None = None) -> tuple[str, bool]:
    """The deadline cell's markup, and whether the case is overdue.

    ``memo`` (one page's) keeps the cell of each (due date, step) already drawn: the
    rows come in due-date order, so neighbours share their deadline, and its words
    cost a count of business days.
    """
    due = row.current_due
    if due is None:
        stopped = deadlines.owed_clock(deadlines.COMPLAINT_CLOCKS, row.status) is not None
        return (_CLOCK_STOPPED if stopped else _NO_DEADLINE), False
    step = _STEPS[deadlines.running_clock(deadlines.COMPLAINT_CLOCKS, row.status).deadline]
    if memo is not None:
        key = (due, step)
        if key not in memo:
            memo[key] = _deadline(row, today)
        return memo[key]
    state = deadline_state(due, today)
    markup = (
        f'<span class="text-nowrap">{step} by {_day(due)}</span> '
        f'<span class="badge deadline-badge {BADGE_CLASSES[state]}">{deadline_label(due, today)}</span>'
    )
    return markup, state == OVERDUE


def dashboard_row(row, today, case_url: str, memo: dict | None = None) -> str:
    """One <tr> (escaped markup, not yet marked safe); ``memo`` as for ``_deadline``."""
    local = row.received_at.astimezone(LONDON)
    deadline, overdue = _deadline(row, today, memo)
    assignee = escape(row.assignee_label) if row.assignee_id else _UNASSIGNED
    category = row.category_name
    reference = escape(row.reference)
    opening = '<tr class="row-overdue">' if overdue else "<tr>"
    return (
        f"{opening}"
        f'<td class="text-nowrap reference-cell" data-label="Reference">'
        f'<a href="{escape(case_url.format(row.reference))}">{reference}</a></td>'
        f'<td data-label="Client" class="client-text"><div>{escape(row.name)}{_secondary(row.organisation)}</div></td>'
        f'<td data-label="Status"><div>{_STATUS_LABELS.get(row.status, escape(row.status))}'
        f"{_secondary(category)}</div></td>"
        f'<td data-label="Assigned to">{assignee}</td>'
        f'<td data-label="Received"><div><span class="text-nowrap">{_day(local)},'
        f" {local.hour:02d}:{local.minute:02d}</span>"
        f'<span class="d-block small text-body-secondary">{_CHANNEL_LABELS.get(row.channel, "")}</span></div></td>'
        f'<td data-label="Deadline"><div>{deadline}</div></td>'
        "</tr>\n"
    )


@register.simple_tag
def dashboard_rows(board):
    """The <tr> of every row of the page, each linking to the staff case page."""
    case_url = reverse("staff:case", args=["REFERENCE"]).replace("REFERENCE", "{}")
    memo: dict = {}
    return mark_safe("".join(dashboard_row(row, board.today, case_url, memo) for row in board.rows))


def _filter_menu(menu: dict) -> str:
    """One filter of the panel: its label, a <select> or a date input, and its errors."""
    ident = escape(menu["id"])
    name = escape(menu["name"])
    errors = menu["errors"]
    invalid = " is-invalid" if errors else ""
    described = f' aria-describedby="{ident}-error"' if errors else ""
    if menu["options"] is None:
        control = (
            f'<input type="date" name="{name}" id="{ident}" value="{escape(menu["value"])}"'
            f' class="form-control form-control-sm{invalid}"{described}>'
        )
    else:
        control = (
            f'<select name="{name}" id="{ident}" class="form-select form-select-sm{invalid}"{described}>'
            f"{menu['options']}</select>"
        )
    error = ""
    if errors:
        error = f'<div class="invalid-feedback d-block" id="{ident}-error">{escape(" ".join(map(str, errors)))}</div>'
    return (
        '<div class="col-6 col-md-4 col-xl-3">'
        f'<label class="form-label small fw-semibold mb-1" for="{ident}">{escape(str(menu["label"]))}</label>'
        f"{control}{error}</div>\n"
    )


@register.simple_tag
def dashboard_filter_menus(form):
    """Every filter of the dashboard's panel (``DashboardFilterForm.menus``), drawn in Python as the rows are.

    Through a template loop the nine menus cost about as much as the 25 rows did.
    """
    return mark_safe("".join(_filter_menu(menu) for menu in form.menus()))


def _tab_badge(tab) -> str:
    if tab.key == "overdue" and tab.count:
        return "text-bg-danger"
    if tab.key == "due_soon" and tab.count:
        return "text-bg-warning"
    return "text-bg-secondary"


@register.simple_tag
def dashboard_tabs(board):
    """The <li> of every tab with its count (what a template loop over ``board.tabs`` drew, for a third of the cost)."""
    items = []
    for tab in board.tabs:
        active, current = (" active", ' aria-current="page"') if tab.active else ("", "")
        items.append(
            '\n      <li class="nav-item">\n'
            f'        <a class="nav-link{active}" href="?tab={escape(tab.key)}"{current}>{escape(tab.label)}'
            f' <span class="badge rounded-pill {_tab_badge(tab)}">{int(tab.count)}</span></a>\n'
            "      </li>\n    "
        )
    return mark_safe("".join(items))


class _PageLinks:
    """``{% querystring page=N %}`` for every N of one page: the request's query with its page replaced, escaped.

    Django's tag copies the whole query for each link; this copies it once.
    """

    def __init__(self, request) -> None:
        self.params = request.GET.copy()

    def __call__(self, number: int) -> str:
        self.params["page"] = number
        return escape(f"?{self.params.urlencode()}")


@register.simple_tag(takes_context=True)
def dashboard_page_links(context, board):
    """The numbered page links between "Previous" and "Next" (a gap where pages are left out)."""
    link = _PageLinks(context.request)
    items = []
    for number in board.page_range():
        if number is None:
            item = '<li class="page-item disabled d-none d-sm-block"><span class="page-link">&hellip;</span></li>'
        elif number == board.page:
            item = f'<li class="page-item active" aria-current="page"><span class="page-link">{int(number)}</span></li>'
        else:
            item = (
                f'<li class="page-item d-none d-sm-block"><a class="page-link" href="{link(number)}">'
                f"{int(number)}</a></li>"
            )
        items.append(f"\n          \n            {item}\n          \n        ")
    return mark_safe("".join(items))
