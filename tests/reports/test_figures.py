"""Report figures against a small hand-made data set whose answers are worked out by hand.

November 2026 has no bank holiday; business days below are counted by hand.
"Today" is Mon 30 Nov 2026.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from appeals.models import Appeal
from cases.models import Action, Category, Complaint, Deadline, Extension
from reports import selectors
from reports.selectors import Filters, Period
from tests.factories import ComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = dt.date(2026, 11, 30)
NOVEMBER = Period.month(2026, 11)
S = Complaint.Status


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LONDON)


def d(day: int, month: int = 11) -> dt.date:
    return dt.date(2026, month, day)


@pytest.fixture
def data(db):
    """Eight complaints (seven in November), one appeal, one extension, four actions."""
    billing = Category.objects.create(name="Billing")
    service = Category.objects.create(name="Service quality")
    communication = Category.objects.create(name="Communication")
    owner = lead(username="owner")
    investigator = manager(username="m1")

    def case(ref: int, **fields) -> Complaint:
        return ComplaintFactory(reference=f"JPD-2026-{ref:05d}-A", **fields)

    # A: web, Billing. Acknowledged after 1 business day (due Wed 4, done Tue 3); answered
    # Mon 16 (due Tue 17) after 9; upheld; appealed Wed 18, acknowledged Thu 19 (1),
    # decided Fri 27 (6 business days; due Thu 10 Dec); the outcome was changed.
    a = case(
        1,
        channel="web",
        category=billing,
        status=S.CLOSED,
        received_at=at(2),
        acknowledgement_due=d(4),
        acknowledged_at=at(3, 9),
        outcome_due=d(17),
        responded_at=at(16, 15),
        outcome="upheld",
    )
    Appeal.objects.create(
        complaint=a,
        status=Appeal.Status.DECIDED,
        reasons="I disagree.",
        received_at=at(18),
        acknowledgement_due=d(20),
        acknowledged_at=at(19),
        decision_due=d(10, 12),
        decided_at=at(27, 16),
        decision=Appeal.Decision.ORIGINAL_DECISION_CHANGED,
        decision_reasons="The engineer's report was wrong.",
    )
    # B: phone, Billing. Acknowledged late on Thu 5 (due Wed 4; 3 business days). The outcome,
    # due Thu 19, was extended to Thu 26 and sent on Wed 25 (14 business days): on time, extended.
    b = case(
        2,
        channel="phone",
        category=billing,
        status=S.RESPONDED,
        received_at=at(2),
        acknowledgement_due=d(4),
        acknowledged_at=at(5, 11),
        outcome_due=d(26),
        responded_at=at(25),
        outcome="partially_upheld",
    )
    Extension.objects.create(
        complaint=b,
        deadline=Deadline.OUTCOME,
        old_date=d(19),
        new_date=d(26),
        reason="Waiting for a supplier.",
        extended_by=owner,
    )
    # C: email, Service quality, received Fri 6 at 18:00, after close of business, so its clock
    # started Mon 9: acknowledged Mon 9 (0 business days, due Wed 11). Answered Tue 24, due
    # Mon 23: late (11 business days). Not upheld.
    case(
        3,
        channel="email",
        category=service,
        status=S.RESPONDED,
        received_at=at(6, 18),
        acknowledgement_due=d(11),
        acknowledged_at=at(9),
        outcome_due=d(23),
        responded_at=at(24),
        outcome="not_upheld",
    )
    # D: not acknowledged, due Thu 26: overdue today, so late.
    case(4, channel="web", category=service, status=S.RECEIVED, received_at=at(24), acknowledgement_due=d(26))
    # E: not acknowledged, due Tue 1 Dec: not due yet, not counted in the share.
    case(5, channel="web", status=S.RECEIVED, received_at=at(27), acknowledgement_due=d(1, 12))
    # F: withdrawn before it was acknowledged: owes nothing.
    case(6, channel="web", category=billing, status=S.WITHDRAWN, received_at=at(2), acknowledgement_due=d(4))
    # H: letter, Communication, manager m1: acknowledged the day it came (0), answer due today: not late.
    case(
        7,
        channel="letter",
        category=communication,
        status=S.INVESTIGATING,
        assignee=investigator,
        received_at=at(16),
        acknowledgement_due=d(18),
        acknowledged_at=at(16, 12),
        outcome_due=d(30),
    )
    # G: received in October: not in November's figures.
    g = case(
        8, channel="web", category=billing, status=S.RECEIVED, received_at=at(30, month=10), acknowledgement_due=d(3)
    )

    def action(complaint, due, done_at=None):
        Action.objects.create(
            complaint=complaint,
            kind=Action.Kind.PUT_RIGHT,
            description="Refund.",
            owner=owner,
            due_date=due,
            done_at=done_at,
        )

    action(a, d(20), done_at=at(19))  # done on time
    action(a, d(25))  # overdue
    action(b, d(4, 12))  # open, not yet due
    action(g, d(25))  # October's case: not counted
    return {"billing": billing, "m1": investigator}


def test_counts_received_by_channel_and_category(data):
    figures = selectors.report(NOVEMBER, Filters(), TODAY)

    assert figures.received == 7
    assert {value: n for value, _, n in figures.by_channel} == {
        "web": 4,
        "phone": 1,
        "email": 1,
        "letter": 1,
        "in_person": 0,
    }
    assert {row["name"]: row["total"] for row in figures.by_category} == {
        "Billing": 3,
        "Service quality": 2,
        "Communication": 1,
        "Not yet categorised": 1,
    }


def test_promises_kept_against_the_due_date_in_force_with_extensions_apart(data):
    figures = selectors.report(NOVEMBER, Filters(), TODAY)

    # Acknowledged: A, C, H on time; B late, D overdue; E not yet due; F withdrawn.
    assert (figures.acknowledgement.on_time, figures.acknowledgement.late) == (3, 2)
    assert figures.acknowledgement.percent == 60.0
    # Answered: A on time, B on time after its extension, C late; H due today.
    assert (figures.outcome.on_time, figures.outcome.late) == (2, 1)
    assert figures.outcome.on_time_extended == 1
    assert figures.outcome.late_extended == 0
    assert figures.outcome.percent == 66.7
    assert (figures.appeal.on_time, figures.appeal.late, figures.appeal.percent) == (1, 0, 100.0)


def test_outcomes_appeal_rate_and_changed_share(data):
    figures = selectors.report(NOVEMBER, Filters(), TODAY)

    assert {value: n for value, _, n in figures.outcomes} == {"upheld": 1, "partially_upheld": 1, "not_upheld": 1}
    assert (figures.responded, figures.appealed, figures.appeal_rate) == (3, 1, 33.3)
    assert (figures.appeals_decided, figures.appeals_changed, figures.changed_share) == (1, 1, 100.0)
    assert [(row["name"], row["fault"]) for row in figures.top_categories_at_fault] == [("Billing", 2)]


def test_median_business_days_per_stage(data):
    figures = selectors.report(NOVEMBER, Filters(), TODAY)

    # Acknowledgement: 1 (A), 3 (B), 0 (C, after hours on a Friday), 0 (H) -> (0 + 1) / 2.
    assert figures.medians["acknowledgement"] == 0.5
    # Outcome: 9 (A), 14 (B), 11 (C).
    assert figures.medians["outcome"] == 11
    assert figures.medians["appeal_acknowledgement"] == 1
    assert figures.medians["appeal_decision"] == 6


def test_actions_open_overdue_and_done(data):
    figures = selectors.report(NOVEMBER, Filters(), TODAY)

    assert figures.actions == {"total": 3, "open": 1, "overdue": 1, "done": 1, "done_on_time": 1}


def test_filters_narrow_every_figure(data):
    web = selectors.report(NOVEMBER, Filters(channel="web"), TODAY)
    billing = selectors.report(NOVEMBER, Filters(category_id=data["billing"].pk), TODAY)
    managed = selectors.report(NOVEMBER, Filters(manager_id=data["m1"].pk), TODAY)

    assert web.received == 4
    assert (web.acknowledgement.on_time, web.acknowledgement.late) == (1, 1)  # A on time, D overdue
    assert billing.received == 3
    assert billing.actions["total"] == 3
    assert (managed.received, managed.acknowledgement.on_time, managed.outcome.measured) == (1, 1, 0)


def test_a_custom_period_and_the_monthly_trend_count_each_case_in_its_month(data):
    both = selectors.report(Period.custom(d(1, 10), d(30)), Filters(), TODAY)
    months = dict(selectors.monthly(Period.last_twelve_months(TODAY), Filters(), TODAY))

    assert both.received == 8
    assert len(months) == 12
    assert min(months) == d(1, 12).replace(year=2025)
    assert months[d(1, 10)].received == 1
    assert months[d(1, 10)].acknowledgement.late == 1  # G: due Tue 3 Nov, never acknowledged
    assert months[d(1, 10)].actions["overdue"] == 1
    november = months[d(1)]
    assert (november.received, november.outcome.on_time, november.outcome.late) == (7, 2, 1)
    assert november.medians["outcome"] == 11
    assert months[d(1, 9)].received == 0
    assert months[d(1, 9)].acknowledgement.percent is None


def test_weighted_median_of_an_even_and_an_odd_count():
    assert selectors._weighted_median({}) is None
    assert selectors._weighted_median({2: 1, 5: 1, 9: 1}) == 5
    assert selectors._weighted_median({0: 2, 1: 1, 3: 1}) == 0.5
