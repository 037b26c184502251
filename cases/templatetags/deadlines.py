"""Deadline labels: the one place that words how far a case is from its due date.

Every page says it the same way (issue 3): "due today", "due in 1 business day",
"due in N business days", "overdue by N business days", where N counts business
days (``cases.business_days.business_days_between``) between today in London and
the due date. In Python::

    from cases.templatetags.deadlines import deadline_label, deadline_state
    deadline_label(complaint.current_due_date)            # "due in 2 business days"

In a template::

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

register = template.Library()

OVERDUE = "overdue"
DUE_SOON = "due_soon"
LATER = "later"

# Bootstrap badge classes per state (the colours of the dashboard's tabs and rows).
BADGE_CLASSES = {OVERDUE: "text-bg-danger", DUE_SOON: "text-bg-warning", LATER: "text-bg-light border"}

# Due soon: the running deadline falls within this many business days counted
# from today (today itself counting when it is a business day), and is not past.
DUE_SOON_BUSINESS_DAYS = 2


def _plural(n: int) -> str:
    return f"{n} business day" if n == 1 else f"{n} business days"


def due_soon_horizon(today: date | None = None) -> date:
    """The last date that is still "due soon" on ``today``.

    The next two business days, today included when it is a business day: on a
    Monday, Monday and Tuesday; on a Saturday, Monday and Tuesday.
    """
    today = today or business_days.london_today()
    remaining = DUE_SOON_BUSINESS_DAYS - (1 if business_days.is_business_day(today) else 0)
    return business_days.add_business_days(today, remaining) if remaining else today


def deadline_state(due: date | None, today: date | None = None) -> str:
    """``"overdue"``, ``"due_soon"`` or ``"later"``; ``""`` when no deadline is running."""
    if due is None:
        return ""
    today = today or business_days.london_today()
    if due < today:
        return OVERDUE
    if due <= due_soon_horizon(today):
        return DUE_SOON
    return LATER


@register.simple_tag(name="deadline_label")
def deadline_label(due: date | None, today: date | None = None) -> str:
    """The words for a due date seen from ``today`` (London), or ``""`` without a due date.

    A missed deadline is "overdue by N business days". Straight after the due
    date, on a weekend or holiday, no business day has passed yet but the
    promise is already broken, so it reads "overdue by 1 business day", never "by 0".
    """
    if due is None:
        return ""
    today = today or business_days.london_today()
    if due == today:
        return "due today"
    if due > today:
        return f"due in {_plural(business_days.business_days_between(today, due))}"
    late = max(1, business_days.business_days_between(due, today))
    return f"overdue by {_plural(late)}"


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
