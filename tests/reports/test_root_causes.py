"""Root causes and lessons (issue 20, point 1): the outcome, and an appeal decision that changes it, record why
the complaint arose (from the administrator's list, apart from the category) and what we learned; the reports
count the cause in force over time, list the period's lessons, and the CSV carries both."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from appeals import services as appeal_services
from appeals.models import Appeal
from cases import services
from cases.business_days import LONDON
from cases.models import Complaint, RootCause
from procedure import retention
from reports import selectors, summary
from reports.selectors import Filters, Period
from tests.appeals.helpers import lodged, responded
from tests.factories import AcknowledgedComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db
# Wednesday 16 December 2026, 10:00 London; the complaints arrive in November.
NOW = dt.datetime(2026, 12, 16, 10, 0, tzinfo=LONDON)
NOVEMBER = Period.month(2026, 11)
CHANGED = Appeal.Decision.ORIGINAL_DECISION_CHANGED


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def investigating(day: int = 10) -> Complaint:
    worker = manager()
    complaint = AcknowledgedComplaintFactory(
        assignee=worker, received_at=dt.datetime(2026, 11, day, 10, 0, tzinfo=LONDON)
    )
    return services.complaint_start_investigation(actor=worker, complaint=complaint)


def answer(complaint: Complaint, cause: RootCause | None, lesson: str = "") -> Complaint:
    return services.complaint_issue_outcome(
        actor=complaint.assignee,
        complaint=complaint,
        outcome="not_upheld",
        findings="The visit was booked for the wrong day.",
        reasons="The contract allows a day's notice.",
        root_cause_id=cause.pk if cause else None,
        lesson=lesson,
    )


def test_while_the_firm_keeps_root_causes_an_outcome_must_name_an_active_one():
    RootCause.objects.create(name="Booking system error")
    retired = RootCause.objects.create(name="Old process", active=False)
    complaint = investigating()

    with pytest.raises(ValidationError) as none_given:
        answer(complaint, None)
    assert none_given.value.message_dict["root_cause"] == ["Choose the root cause: why the complaint arose."]
    with pytest.raises(ValidationError) as inactive:
        answer(complaint, retired)
    assert inactive.value.message_dict["root_cause"] == ["Choose one of the root causes in the list."]
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING


def test_without_a_list_no_root_cause_is_asked_for():
    complaint = answer(investigating(), None)
    assert complaint.status == Complaint.Status.RESPONDED
    assert complaint.root_cause is None


def test_the_outcome_page_asks_for_the_root_cause_and_what_we_learned(client):
    cause = RootCause.objects.create(name="Booking system error")
    complaint = investigating()
    client.force_login(complaint.assignee)
    url = reverse("staff:outcome", args=[complaint.reference])
    page = " ".join(client.get(url).content.decode().split())
    assert "For the firm (not in the letter)" in page
    assert f'<option value="{cause.pk}">Booking system error</option>' in page

    refused = client.post(
        reverse("staff:outcome_preview", args=[complaint.reference]),
        {
            "expected_revision": complaint.revision,
            "outcome": "not_upheld",
            "findings": "Booked for the wrong day.",
            "reasons": "A day's notice is allowed.",
            "actions-TOTAL_FORMS": "0",
            "actions-INITIAL_FORMS": "0",
        },
    )
    assert "Choose the root cause: why the complaint arose." in refused.content.decode()


def test_the_outcome_records_the_cause_and_lesson_and_the_letter_does_not_show_them():
    cause = RootCause.objects.create(name="Booking system error")
    complaint = answer(investigating(), cause, lesson="  Confirm visit dates by text the day before.  ")
    assert (complaint.root_cause, complaint.lesson) == (cause, "Confirm visit dates by text the day before.")
    context = services.outcome_letter_context(
        complaint=complaint,
        outcome=complaint.outcome,
        findings=complaint.findings,
        reasons=complaint.outcome_reasons,
        actions=[],
        issued_at=NOW,
    )
    assert "Confirm visit dates" not in str(context)


def test_a_changed_decision_names_the_cause_as_the_director_found_it_and_the_reports_count_that_one():
    with time_machine.travel(dt.datetime(2026, 11, 10, 10, 0, tzinfo=LONDON), tick=False):
        appeal = lodged(responded())  # answered before the list existed: no cause recorded then
    found = RootCause.objects.create(name="Engineer not briefed")
    with pytest.raises(ValidationError) as none_given:
        appeal_services.appeal_decide(
            actor=director(), appeal=appeal, decision=CHANGED, new_outcome="partially_upheld", reasons="Wrong."
        )
    assert none_given.value.message_dict["new_root_cause"] == ["Choose the root cause: why the complaint arose."]

    decided = appeal_services.appeal_decide(
        actor=director(),
        appeal=appeal,
        decision=CHANGED,
        new_outcome="not_upheld" if appeal.complaint.outcome != "not_upheld" else "partially_upheld",
        reasons="The engineer was never told of the access rules.",
        new_root_cause_id=found.pk,
        new_lesson="Brief engineers on each site's access rules.",
        actions=[
            services.ActionSpec(
                kind="prevent_recurrence",
                description="Add access rules to the job sheet.",
                owner=manager(),
                due_date=dt.date(2026, 12, 21),
            )
        ],
    )

    assert (decided.new_root_cause, decided.new_lesson) == (found, "Brief engineers on each site's access rules.")
    figures = selectors.report(NOVEMBER, Filters(), dt.date(2026, 12, 16))
    assert [(row["name"], row["total"]) for row in figures.top_root_causes] == [("Engineer not briefed", 1)]
    [lesson] = selectors.lessons(NOVEMBER, Filters())
    assert (lesson["cause"], lesson["appeal_lesson"]) == (
        "Engineer not briefed",
        "Brief engineers on each site's access rules.",
    )


def test_a_decision_that_keeps_the_original_asks_for_no_cause():
    RootCause.objects.create(name="Engineer not briefed")
    with time_machine.travel(dt.datetime(2026, 11, 10, 10, 0, tzinfo=LONDON), tick=False):
        RootCause.objects.update(active=False)
        appeal = lodged(responded())
        RootCause.objects.update(active=True)
    decided = appeal_services.appeal_decide(
        actor=director(), appeal=appeal, decision=Appeal.Decision.ORIGINAL_DECISION_UPHELD, reasons="Right."
    )
    assert decided.new_root_cause is None


def test_reports_show_root_causes_lessons_the_trend_and_the_csv(client):
    booking = RootCause.objects.create(name="Booking system error")
    briefing = RootCause.objects.create(name="Engineer not briefed")
    answer(investigating(3), booking, lesson="Confirm visit dates by text.")
    answer(investigating(4), booking)
    answer(investigating(5), briefing, lesson="Brief engineers on access rules.")
    client.force_login(lead())
    query = {"period": "month", "year": 2026, "month": 11}

    page = " ".join(client.get(reverse("reports:report"), query).content.decode().split())
    assert "Top root causes" in page
    assert '<th scope="row">Booking system error</th><td class="text-end">2</td>' in page
    assert "What we learned" in page
    assert "Confirm visit dates by text." in page
    assert "Brief engineers on access rules." in page

    trend = " ".join(client.get(reverse("reports:trend")).content.decode().split())
    assert "Root causes month by month" in trend
    assert '<th scope="row">Booking system error</th>' in trend

    response = client.get(reverse("reports:export"), {**query, "figure": "all"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_cause = sorted((row["Root cause"], row["What we learned"]) for row in rows)
    assert by_cause == [
        ("Booking system error", ""),
        ("Booking system error", "Confirm visit dates by text."),
        ("Engineer not briefed", "Brief engineers on access rules."),
    ]


def test_kept_months_count_root_causes_as_the_live_count_does():
    booking = RootCause.objects.create(name="Booking system error")
    answer(investigating(3), booking)
    answer(investigating(4), None if not RootCause.objects.exists() else booking)
    live = selectors.report(NOVEMBER, Filters(), dt.date(2026, 12, 16), use_summary=False)
    summary.refresh()
    kept = selectors.report(NOVEMBER, Filters(), dt.date(2026, 12, 16))
    assert kept.by_root_cause == live.by_root_cause == [{"id": booking.pk, "name": "Booking system error", "total": 2}]


def test_anonymisation_removes_the_lesson_and_keeps_the_cause():
    cause = RootCause.objects.create(name="Booking system error")
    complaint = answer(investigating(), cause, lesson="Mrs Patel was told the wrong day.")
    retention.complaints_anonymise([complaint.pk], summary="Removed on request")
    complaint.refresh_from_db()
    assert (complaint.lesson, complaint.root_cause) == ("", cause)


def test_the_directors_decision_form_offers_the_root_causes(client):
    with time_machine.travel(dt.datetime(2026, 11, 10, 10, 0, tzinfo=LONDON), tick=False):
        appeal = lodged(responded())
    cause = RootCause.objects.create(name="Engineer not briefed")
    client.force_login(director())
    page = client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk])).content.decode()
    assert "Why the complaint arose (if you change the original decision)" in page
    assert f'<option value="{cause.pk}">Engineer not briefed</option>' in page
    assert "What we learned (if you change the original decision)" in page
