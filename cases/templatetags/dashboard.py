"""The dashboard's table rows, drawn in Python: the one part of the staff pages not drawn by a template.

Measured on the reference machine (bench/README.md, session 6): the same rows drawn by a template
loop cost 2.3 ms a page of 25 and 9.8 ms a page of 100 (about 90 microseconds a row: a dozen
look-ups, two dates, a link and a badge each), against 0.1 and 0.4 ms here, and that difference
decides whether the dashboard meets its target (10 x a trivial view). As the admin's change list
builds its cells in Python (``items_for_result``), each row is built here from the row's values:
every value from the database goes through ``html.escape`` (what Django's ``escape`` calls, without
its lazy-string checks) and only the finished markup is marked safe.
The words of a deadline come from ``cases.deadlines``, its colours from ``templatetags.deadlines``.
"""

from __future__ import annotations

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from cases.deadlines import OVERDUE, Deadline, deadline_label, deadline_state
from cases.templatetags.deadlines import BADGE_CLASSES

register = template.Library()

_STEPS = {Deadline.ACKNOWLEDGEMENT: "Acknowledge", Deadline.OUTCOME: "Outcome"}
_SECONDARY = '<span class="d-block small text-body-secondary">{}</span>'
_QUIET = '<span class="text-body-secondary">{}</span>'


def _deadline_cell(row, today, badges: dict) -> tuple[str, bool]:
    """The deadline cell's markup, and whether the case is overdue.

    ``badges`` keeps, for one page, each due date's badge: neighbouring rows share their due
    date (the page is in due-date order) and its words cost a count of business days.
    """
    due = row.current_due
    if due is None:
        words = "Clock stopped: waiting for the client" if row.promise_owed else "None running"
        return _QUIET.format(words), False
    if due not in badges:
        state = deadline_state(due, today)
        badges[due] = (
            f'<span class="badge deadline-badge {BADGE_CLASSES[state]}">{deadline_label(due, today)}</span>',
            state == OVERDUE,
        )
    badge, overdue = badges[due]
    step = _STEPS.get(row.running_deadline, "")
    return f'<span class="text-nowrap">{step} by {row.due_label}</span> {badge}', overdue


def _select_cell(row, reference: str, checked: str) -> str:
    """A lead's checkbox for the bulk changes (``cases.bulk``): the case and the revision this row shows."""
    return (
        f'<td class="select-cell" data-label="Select"><input class="form-check-input" type="checkbox" name="cases" '
        f'value="{row.pk}.{row.revision}" id="select-{row.pk}"{checked}>'
        f'<label class="visually-hidden" for="select-{row.pk}">Select {reference}</label></td>'
    )


def dashboard_row(row, today, case_url: str, badges: dict, select: str | None = None) -> str:
    """One <tr>: ``case_url`` holds REFERENCE where the case's reference goes; ``badges`` as for ``_deadline_cell``;
    ``select``: None, or the checkbox's ``checked`` attribute ("" or " checked") when a lead may tick it."""
    deadline, overdue = _deadline_cell(row, today, badges)
    organisation = _SECONDARY.format(escape(row.organisation)) if row.organisation else ""
    category = _SECONDARY.format(escape(row.category_name)) if row.category_name else ""
    assignee = escape(row.assignee_label) if row.assignee_id else _QUIET.format("Unassigned")
    reference = escape(row.reference)
    return (
        ('<tr class="row-overdue">' if overdue else "<tr>")
        + (_select_cell(row, reference, select) if select is not None else "")
        + f'<td class="text-nowrap reference-cell" data-label="Reference">'
        f'<a href="{escape(case_url.replace("REFERENCE", row.reference))}">{reference}</a></td>'
        f'<td data-label="Client" class="client-text"><div>{escape(row.name)}{organisation}</div></td>'
        f'<td data-label="Status"><div>{escape(row.status_label)}{category}</div></td>'
        f'<td data-label="Assigned to">{assignee}</td>'
        f'<td data-label="Received"><div><span class="text-nowrap">{row.received_label}</span>'
        f"{_SECONDARY.format(escape(row.channel_label))}</div></td>"
        f'<td data-label="Deadline"><div>{deadline}</div></td>'
        "</tr>\n"
    )


@register.simple_tag
def dashboard_rows(board, selectable=False, select_all=False):
    """The <tr> of every row of the page, each linking to the staff case page; ``selectable``: with a lead's
    checkbox (all ticked with ``select_all``)."""
    case_url = reverse("staff:case", args=["REFERENCE"])
    badges: dict = {}
    select = (" checked" if select_all else "") if selectable else None
    # Every value was escaped in ``dashboard_row``: only the finished markup is marked safe.
    return mark_safe("".join(dashboard_row(row, board.today, case_url, badges, select) for row in board.rows))
