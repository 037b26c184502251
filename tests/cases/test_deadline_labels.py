"""The one deadline-label helper (cases/templatetags/deadlines.py): words, urgency and the due-soon window."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.template import Context, Template

from cases.business_days import LONDON
from cases.deadlines import deadline_label, deadline_state, due_soon_horizon
from cases.templatetags.deadlines import deadline_badge
from tests.factories import ClosureDayFactory

pytestmark = pytest.mark.django_db  # the calendar reads company closure days

D = dt.date


def test_due_today():
    assert deadline_label(D(2026, 12, 1), D(2026, 12, 1)) == "due today"


def test_due_in_one_business_day_across_a_weekend():
    # Friday 4 Dec 2026 -> Monday 7 Dec 2026: Saturday and Sunday do not count.
    assert deadline_label(D(2026, 12, 7), D(2026, 12, 4)) == "due in 1 business day"


def test_due_in_several_business_days_uses_the_plural():
    assert deadline_label(D(2026, 12, 4), D(2026, 12, 1)) == "due in 3 business days"


def test_due_in_counts_from_a_weekend_day_to_the_due_date():
    # Saturday 5 Dec -> Tuesday 8 Dec: Monday and Tuesday.
    assert deadline_label(D(2026, 12, 8), D(2026, 12, 5)) == "due in 2 business days"


def test_overdue_by_n_business_days_across_bank_holidays():
    # Due Wed 23 Dec 2026; on Wed 30 Dec: 24 Dec, 29 Dec and 30 Dec are business days
    # (25 and 28 Dec are bank holidays, 26-27 the weekend).
    assert deadline_label(D(2026, 12, 23), D(2026, 12, 30)) == "overdue by 3 business days"
    # Due Thu 24 Dec; on Tue 29 Dec only the 29th has passed.
    assert deadline_label(D(2026, 12, 24), D(2026, 12, 29)) == "overdue by 1 business day"


def test_a_company_closure_day_is_not_a_business_day():
    ClosureDayFactory(date=D(2026, 12, 31))
    # Due Wed 30 Dec; on Mon 4 Jan 2027: 31 Dec closed, 1 Jan bank holiday, weekend -> only 4 Jan.
    assert deadline_label(D(2026, 12, 30), D(2027, 1, 4)) == "overdue by 1 business day"


def test_missed_on_friday_reads_overdue_by_one_on_the_weekend_not_by_zero():
    assert deadline_label(D(2026, 12, 4), D(2026, 12, 5)) == "overdue by 1 business day"


def test_no_running_deadline_has_no_label():
    assert deadline_label(None) == ""
    assert deadline_state(None) == ""
    assert deadline_badge(None) == ""


def test_due_soon_is_today_and_the_next_business_day():
    monday = D(2026, 11, 30)
    assert due_soon_horizon(monday) == D(2026, 12, 1)
    assert deadline_state(monday, monday) == "due_soon"
    assert deadline_state(D(2026, 12, 1), monday) == "due_soon"
    assert deadline_state(D(2026, 12, 2), monday) == "later"
    assert deadline_state(D(2026, 11, 27), monday) == "overdue"


def test_due_soon_on_a_friday_reaches_monday():
    assert due_soon_horizon(D(2026, 12, 4)) == D(2026, 12, 7)


def test_due_soon_on_a_saturday_is_the_next_two_business_days():
    saturday = D(2026, 12, 5)
    assert due_soon_horizon(saturday) == D(2026, 12, 8)
    assert deadline_state(D(2026, 12, 8), saturday) == "due_soon"
    assert deadline_state(D(2026, 12, 9), saturday) == "later"


def test_today_defaults_to_london_today():
    # 23:30 UTC on 30 Nov is 23:30 in London (GMT): still Monday 30 Nov.
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), tick=False):
        assert deadline_label(D(2026, 11, 30)) == "due today"
    # 23:30 UTC on 30 Jun is 00:30 on 1 Jul in London (BST).
    with time_machine.travel(dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC), tick=False):
        assert deadline_label(D(2026, 6, 30)) == "overdue by 1 business day"


def test_template_tag_filter_and_badge():
    template = Template(
        "{% load deadlines %}[{% deadline_label due today %}][{{ due|deadline_label:today }}]"
        "[{{ due|deadline_state:today }}]{% deadline_badge due today %}"
    )
    html = template.render(Context({"due": D(2026, 12, 1), "today": D(2026, 12, 3)}))
    assert html.startswith("[overdue by 2 business days][overdue by 2 business days][overdue]")
    assert '<span class="badge deadline-badge text-bg-danger">overdue by 2 business days</span>' in html


def test_template_tag_uses_london_today_without_an_argument():
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=LONDON), tick=False):
        html = Template("{% load deadlines %}{% deadline_label due %}").render(Context({"due": D(2026, 12, 2)}))
    assert html == "due in 1 business day"
