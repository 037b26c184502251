"""Deadline labels in templates: the words come from ``cases.deadlines`` (the one place that words them).

Every page says it the same way: "due today", "due in 1 business day",
"due in N business days", "overdue by N business days", where N counts business
days between today in London and the due date. In a template::

    {% load deadlines %}
    {% deadline_label complaint.current_due_date %}       {# the words #}
    {{ complaint.current_due_date|deadline_label }}       {# the same, as a filter #}
    {% deadline_badge complaint.current_due_date %}       {# the words in a coloured badge #}

``today`` may be passed (``{% deadline_label due today %}``) so that a long list
computes "today" once; it defaults to today in London.
"""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.html import format_html

from cases import business_days
from cases.deadlines import DUE_SOON, LATER, OVERDUE, deadline_label, deadline_state

register = template.Library()

# Bootstrap badge classes per state (the colours of the dashboard's tabs and rows).
BADGE_CLASSES = {OVERDUE: "text-bg-danger", DUE_SOON: "text-bg-warning", LATER: "text-bg-light border"}

register.simple_tag(deadline_label, name="deadline_label")
register.filter("deadline_label", deadline_label)
register.filter("deadline_state", deadline_state)


@register.simple_tag
def deadline_badge(due: date | None, today: date | None = None) -> str:
    """The label in a badge coloured by urgency (CSS classes in static/css/site.css)."""
    if due is None:
        return ""
    today = today or business_days.london_today()
    css = BADGE_CLASSES[deadline_state(due, today)]
    return format_html('<span class="badge deadline-badge {}">{}</span>', css, deadline_label(due, today))
