"""The summary of past months (reports.summary): the same figures as counting live, after every kind of change.

The hand-made data set of test_figures (October and November 2026), read on Mon 15 Feb 2027,
when October to January are complete months the summary keeps. After each kind of change to
a case the summary already counted, every view of the figures (a year, a custom period with
part-months, each filter, the monthly trend) must be the same from the summary as counted live:
first while the changed month waits for the beat task (it is read live meanwhile), then after
the task built it again.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import asdict
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appeals.models import Appeal
from appeals.services import appeal_log
from cases import business_days
from cases.models import Action, Category, Complaint, Deadline, Extension
from cases.services import action_mark_done, complaint_acknowledge
from procedure.retention import complaints_anonymise
from reports import selectors, summary, tally
from reports.models import ChangedMonth, SummaryCell
from reports.selectors import Filters, Period
from reports.tasks import refresh_report_summary
from tests.factories import ComplaintFactory, UserFactory, lead
from tests.reports.test_figures import data  # noqa: F401 - the hand-made data set, as a fixture

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2027, 2, 15, 12, 0, tzinfo=LONDON)
TODAY = NOW.date()
OCTOBER, NOVEMBER, DECEMBER, JANUARY = (
    dt.date(2026, 10, 1),
    dt.date(2026, 11, 1),
    dt.date(2026, 12, 1),
    dt.date(2027, 1, 1),
)
KEPT = [JANUARY, DECEMBER, NOVEMBER, OCTOBER]  # newest first, as the refresh builds them
PERIODS = [
    Period.year(2026),
    Period.custom(dt.date(2026, 10, 1), dt.date(2027, 1, 31)),  # complete months only: no live query
    Period.custom(dt.date(2026, 10, 15), TODAY),  # part-months at both ends
    Period.month(2026, 11),
]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def ref(n: int) -> Complaint:
    return Complaint.objects.get(reference=f"JPD-2026-{n:05d}-A")


def kept() -> set[dt.date]:
    return summary.fresh_months([OCTOBER, NOVEMBER, DECEMBER, JANUARY])


def views(data) -> list[Filters]:  # noqa: F811
    return [
        Filters(),
        Filters(category_id=data["billing"].pk),
        Filters(channel="web"),
        Filters(manager_id=data["m1"].pk),
        Filters(category_id=data["billing"].pk, channel="web"),
    ]


def assert_summary_equals_live(data, today: dt.date = TODAY) -> None:  # noqa: F811
    for period in PERIODS:
        for filters in views(data):
            fast = selectors.report(period, filters, today)
            live = selectors.report(period, filters, today, use_summary=False)
            assert asdict(fast) == asdict(live), (period.label, filters)
    trend = Period.last_twelve_months(today)
    for filters in views(data):
        fast = [(month, asdict(f)) for month, f in selectors.monthly(trend, filters, today)]
        live = [(month, asdict(f)) for month, f in selectors.monthly(trend, filters, today, use_summary=False)]
        assert fast == live, filters


def november() -> selectors.Figures:
    return selectors.report(Period.month(2026, 11), Filters(), TODAY)


# --- the summary as built ----------------------------------------------------------------------------


def test_kept_months_give_the_figures_counted_live(data):  # noqa: F811
    assert summary.refresh() == KEPT
    assert kept() == set(KEPT)
    assert SummaryCell.objects.filter(month=NOVEMBER).count() == 6  # one per (channel, category, manager) met

    assert_summary_equals_live(data)
    # The hand-worked answers of test_figures, read from the summary three months later:
    figures = november()
    assert figures.received == 7
    assert (figures.outcome.on_time, figures.outcome.late, figures.outcome.on_time_extended) == (2, 2, 1)
    assert figures.medians == {"acknowledgement": 0.5, "outcome": 11, "appeal_acknowledgement": 1, "appeal_decision": 6}
    # Owed since: D's acknowledgement (due 26 Nov) and H's answer (due 30 Nov) are late by now.
    assert (figures.acknowledgement.late, figures.outcome.measured) == (3, 4)


def test_complete_kept_months_are_read_without_touching_the_cases(data):  # noqa: F811
    summary.refresh()
    with CaptureQueriesContext(connection) as queries:
        figures = selectors.report(Period.custom(OCTOBER, dt.date(2027, 1, 31)), Filters(), TODAY)
    assert figures.received == 8
    assert not [q["sql"] for q in queries.captured_queries if "cases_complaint" in q["sql"]]


def test_figures_read_later_need_no_rebuild(data):  # noqa: F811
    """What is owed is kept under its due date: the day of reading decides late or not."""
    built_on = dt.date(2026, 12, 1)
    assert summary.refresh(today=built_on) == [NOVEMBER, OCTOBER]
    early = selectors.report(Period.month(2026, 11), Filters(), built_on)
    later = selectors.report(Period.month(2026, 11), Filters(), dt.date(2026, 12, 10))

    assert_summary_equals_live(data, built_on)
    assert_summary_equals_live(data, dt.date(2026, 12, 10))
    # E's acknowledgement was due 1 Dec; B's action 4 Dec: neither late on the 1st, both by the 10th.
    assert (early.acknowledgement.late, later.acknowledgement.late) == (2, 3)
    assert (early.actions["open"], later.actions["open"], later.actions["overdue"]) == (1, 0, 2)
    assert summary.fresh_months([OCTOBER, NOVEMBER]) == {OCTOBER, NOVEMBER}


# --- after each kind of change -----------------------------------------------------------------------


def test_a_late_appeal_on_a_closed_complaint(data):  # noqa: F811
    closed = ref(3)
    Complaint.objects.filter(pk=closed.pk).update(status=Complaint.Status.CLOSED, appeal_deadline=dt.date(2026, 12, 22))
    summary.refresh()
    before = november()

    appeal_log(
        actor=lead(),
        complaint=closed,
        channel=Appeal.Channel.LETTER,
        received_at=NOW - dt.timedelta(days=3),
        reasons="The response missed the point.",
        late_reason="The client was in hospital.",
    )

    assert NOVEMBER not in kept()  # read live until the task runs
    assert_summary_equals_live(data)
    assert (november().appealed, november().appeal_rate) == (before.appealed + 1, 66.7)
    assert summary.refresh() == [NOVEMBER]
    assert kept() == set(KEPT)
    assert_summary_equals_live(data)


def test_an_action_done_months_later(data):  # noqa: F811
    summary.refresh()
    overdue = Action.objects.get(complaint=ref(1), done_at__isnull=True)
    before = november()

    action_mark_done(actor=overdue.owner, action=overdue)

    assert NOVEMBER not in kept()
    assert_summary_equals_live(data)
    after = november()
    assert (after.actions["done"], after.actions["overdue"]) == (before.actions["done"] + 1, 1)
    assert summary.refresh() == [NOVEMBER]
    assert_summary_equals_live(data)


def test_an_open_case_answered_later_and_a_deadline_extended(data):  # noqa: F811
    summary.refresh()
    complaint_acknowledge(complaint=ref(4), at=NOW)  # D: due 26 Nov, acknowledged in February
    investigating = ref(7)
    Extension.objects.create(
        complaint=investigating,
        deadline=Deadline.OUTCOME,
        old_date=investigating.outcome_due,
        new_date=dt.date(2026, 12, 4),
        reason="A supplier's report.",
        extended_by=lead(username="extender"),
    )
    Complaint.objects.filter(pk=investigating.pk).update(outcome_due=dt.date(2026, 12, 4))

    assert NOVEMBER not in kept()
    assert_summary_equals_live(data)
    assert november().outcome.late_extended == 1  # H: extended to 4 Dec, still not answered
    summary.refresh()
    assert_summary_equals_live(data)


def test_anonymisation_keeps_every_figure(data):  # noqa: F811
    summary.refresh()
    before = asdict(november())

    complaints_anonymise([ref(1).pk, ref(2).pk, ref(3).pk], summary="Retention period over.")

    assert NOVEMBER not in kept()
    assert_summary_equals_live(data)
    assert asdict(november()) == before
    summary.refresh()
    assert_summary_equals_live(data)
    assert asdict(november()) == before


def test_a_closure_day_added_in_the_admin_changes_business_days(client, data):  # noqa: F811
    summary.refresh()
    client.force_login(UserFactory(username="administrator", is_superuser=True))
    # A day off in the future changes no past count: nothing needs building again.
    client.post(reverse("admin:cases_closureday_add"), {"date": "2027-12-29", "reason": "Shutdown"})
    assert kept() == set(KEPT)

    response = client.post(reverse("admin:cases_closureday_add"), {"date": "2026-11-10", "reason": "Office move"})

    assert response.status_code == 302
    assert kept() == {OCTOBER, DECEMBER, JANUARY}  # only November's cases span 10 Nov
    assert_summary_equals_live(data)
    assert november().medians["outcome"] == 10  # A 9 -> 8, B 14 -> 13, C 11 -> 10
    assert summary.refresh() == [NOVEMBER]
    assert kept() == set(KEPT)
    assert_summary_equals_live(data)


def test_a_category_renamed_then_merged_into_another(data):  # noqa: F811
    summary.refresh()
    billing = data["billing"]
    billing.name = "Billing and invoices"
    billing.save()
    assert kept() == set(KEPT)  # names are never kept: nothing to build
    assert "Billing and invoices" in [row["name"] for row in november().by_category]

    service, communication = Category.objects.get(name="Service quality"), Category.objects.get(name="Communication")
    Complaint.objects.filter(category=service).update(category=communication)
    service.delete()

    assert NOVEMBER not in kept()
    assert_summary_equals_live(data)
    assert {row["name"]: row["total"] for row in november().by_category}["Communication"] == 3
    summary.refresh()
    assert_summary_equals_live(data)


def test_a_case_reassigned_by_a_bulk_update(data):  # noqa: F811
    summary.refresh()

    Complaint.objects.filter(pk=ref(3).pk).update(assignee=data["m1"])

    assert_summary_equals_live(data)
    assert selectors.report(Period.month(2026, 11), Filters(manager_id=data["m1"].pk), TODAY).received == 2
    summary.refresh()
    assert_summary_equals_live(data)


def test_a_case_moved_to_another_month_and_one_deleted(data):  # noqa: F811
    summary.refresh()
    Complaint.objects.filter(pk=ref(5).pk).update(received_at=dt.datetime(2026, 12, 1, 9, tzinfo=LONDON))
    ref(6).delete()

    assert kept() == {OCTOBER, JANUARY}
    assert_summary_equals_live(data)
    assert summary.refresh() == [DECEMBER, NOVEMBER]
    assert_summary_equals_live(data)


# --- the log of changes and the task ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (dt.datetime(2026, 11, 16, 10, tzinfo=LONDON), NOVEMBER),
        (dt.datetime(2026, 7, 1, 0, 30, tzinfo=LONDON), dt.date(2026, 7, 1)),  # still 30 June in UTC
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=LONDON), DECEMBER),
    ],
)
def test_every_write_to_a_case_or_its_parts_logs_the_london_month(moment, month):
    def logged() -> set[dt.date]:
        months = set(ChangedMonth.objects.values_list("month", flat=True))
        ChangedMonth.objects.all().delete()
        return months

    complaint = ComplaintFactory(received_at=moment, acknowledgement_due=moment.date())
    assert month in logged()
    Complaint.objects.filter(pk=complaint.pk).update(outcome="upheld")
    assert month in logged()
    owner = lead(username="owner")
    action = Action.objects.create(complaint=complaint, kind="put_right", description="x", owner=owner, due_date=TODAY)
    assert month in logged()
    Action.objects.filter(pk=action.pk).update(done_at=NOW)
    assert month in logged()
    Appeal.objects.create(complaint=complaint, reasons="x", received_at=NOW, acknowledgement_due=TODAY)
    assert month in logged()
    Extension.objects.create(
        complaint=complaint, deadline=Deadline.OUTCOME, old_date=TODAY, new_date=TODAY, reason="x", extended_by=owner
    )
    assert month in logged()
    complaint.delete()  # its appeal, action and extension first, then the complaint
    assert month in logged()
    # The months logged are the London month, and on SQLite at most the next one too.
    assert not ChangedMonth.objects.exists()


def test_refresh_builds_only_what_changed_and_forgets_the_current_month(data):  # noqa: F811
    assert summary.refresh() == KEPT
    assert summary.refresh() == []

    ComplaintFactory(received_at=NOW)  # this month: counted live, never kept
    assert summary.refresh() == []
    assert not ChangedMonth.objects.exists()

    Complaint.objects.filter(pk=ref(8).pk).update(status=Complaint.Status.WITHDRAWN)  # G, October
    assert summary.refresh() == [OCTOBER]


def test_refresh_stops_after_its_time_budget_and_the_next_run_goes_on(data):  # noqa: F811
    assert summary.refresh(time_budget=0) == [JANUARY]
    assert summary.refresh() == [DECEMBER, NOVEMBER, OCTOBER]


def test_the_beat_task_refreshes_on_a_plain_interval(data):  # noqa: F811
    from jpdit_complaints.settings import base  # the test settings switch beat off

    entry = base.CELERY_BEAT_SCHEDULE["report-summary"]
    assert entry["task"] == refresh_report_summary.name
    assert entry["schedule"] == 5 * 60  # a plain interval, not a crontab
    assert refresh_report_summary.apply().get() == 4
    assert kept() == set(KEPT)


def test_the_year_page_from_kept_months_costs_the_same_queries_with_more_cases(client, data):  # noqa: F811
    client.force_login(lead())
    summary.refresh()
    year = {"period": "year", "year": 2026}
    client.get(reverse("reports:report"), year)  # warm-up: the calendar's closure days are read once per process
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("reports:report"), year).status_code == 200
    for day in range(2, 27):
        ComplaintFactory(received_at=dt.datetime(2026, 12, day, 10, tzinfo=LONDON), channel="email")
    summary.refresh()
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("reports:report"), year)

    assert "Complaints received: 33" in " ".join(response.content.decode().split())
    reads = [q["sql"] for q in many.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET"))]
    assert len(reads) == len(
        [q for q in few.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET"))]
    )
    # 11 (the user with their roles in one query); since root causes the period's lessons
    # (reports.selectors.lessons); since the survey its results (one grouped query, reports.selectors.satisfaction;
    # its comments are a second only when there are answers).
    assert len(reads) <= 13


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_while_a_month_is_built_leaves_it_to_build_again(data, monkeypatch):  # noqa: F811
    """The builder forgets the month's changes, counts, and commits; a change committed after
    the count (by another connection) must leave the month stale, never kept without it."""
    counted = tally.count

    def count_then_someone_acknowledges(*args, **kwargs):
        result = counted(*args, **kwargs)

        def acknowledge():
            try:
                Complaint.objects.filter(reference="JPD-2026-00004-A").update(
                    status=Complaint.Status.ACKNOWLEDGED, acknowledged_at=NOW
                )
            finally:
                connections.close_all()

        writer = threading.Thread(target=acknowledge)
        writer.start()
        writer.join()
        return result

    monkeypatch.setattr(summary.tally, "count", count_then_someone_acknowledges)
    summary.build_month(NOVEMBER)
    monkeypatch.undo()

    assert NOVEMBER not in kept()
    assert_summary_equals_live(data)
    assert summary.refresh() == KEPT  # November again, and the months never built
    assert_summary_equals_live(data)


def test_business_days_counted_with_the_calendar_in_force(data):  # noqa: F811
    """The fingerprint covers the dates a month's counts used, and nothing else."""
    summary.refresh()
    calendar = business_days.get_calendar()
    month = summary.SummaryMonth.objects.get(month=NOVEMBER)
    assert (month.calendar_from, month.calendar_until) == (dt.date(2026, 11, 2), dt.date(2026, 11, 27))
    assert month.calendar_digest == summary.calendar_digest(calendar, month.calendar_from, month.calendar_until)
    assert summary.SummaryMonth.objects.get(month=OCTOBER).calendar_from is None  # G: no stage counted
