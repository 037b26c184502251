"""Bulk work on the dashboard (issue 20, point 5): a complaints lead ticks cases and assigns, categorises or
extends them; each case changes through its own service, transition and event, and a case changed since the
page was loaded is reported, never overwritten (cases.bulk, cases.views.dashboard.bulk_change).

At a fixed moment (Tuesday 1 December 2026): the extension's new dates are worked out with the calendar."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEntry
from cases import business_days, services
from cases.business_days import LONDON
from cases.models import Complaint, ComplaintEvent, Extension
from notifications.models import OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, CategoryFactory, ComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db
Status = Complaint.Status
Event = ComplaintEvent.Kind
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
HOME = reverse("staff:home")
BULK = reverse("staff:bulk_change")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def boss(client):
    user = lead(first_name="Lena", last_name="Lead")
    client.force_login(user)
    return user


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def ticked(*cases) -> list[str]:
    """The checkboxes' values as the dashboard drew them: each case with the revision its row showed."""
    return [f"{case.pk}.{Complaint.objects.get(pk=case.pk).revision}" for case in cases]


def bulk(client, values, **fields):
    return client.post(BULK, {"cases": values, "here": "tab=all&sort=reference", **fields})


def test_a_lead_assigns_the_ticked_cases_each_through_its_own_change_and_sees_what_happened(client, boss):
    maya = manager(first_name="Maya", last_name="Manager")
    fresh, already, moved_on, closed = (
        AcknowledgedComplaintFactory(),
        AcknowledgedComplaintFactory(assignee=maya),
        AcknowledgedComplaintFactory(),
        ComplaintFactory(status=Status.CLOSED),
    )
    values = ticked(fresh, already, moved_on, closed)  # the page as loaded
    services.complaint_categorise(actor=boss, complaint=moved_on, category=CategoryFactory(name="Billing"))

    response = bulk(client, values, action="assign", assignee=maya.pk)

    assert response.status_code == 303
    assert response["Location"] == f"{HOME}?tab=all&sort=reference"
    assert Complaint.objects.get(pk=fresh.pk).assignee == maya
    assert fresh.events.get(kind=Event.ASSIGNED).summary == "Assigned to Maya Manager"
    assert Complaint.objects.get(pk=moved_on.pk).assignee is None  # changed meanwhile: not overwritten
    assert not already.events.filter(kind=Event.ASSIGNED).exists()
    assert OutboundMessage.objects.filter(kind="staff_assignment", complaint=fresh).count() == 1
    # Each change is in the audit trail, against its case.
    audited = AuditEntry.objects.filter(description="Changed in bulk: Assign to Maya Manager")
    assert list(audited.values_list("complaint_id", flat=True)) == [fresh.pk]

    page = text(client.get(response["Location"]))
    assert "Assign to Maya Manager: 1 case changed" in page
    assert f"Changed (1) {fresh.reference}" in page
    assert f"Already so, left as they were (1) {already.reference}" in page
    assert f"Changed since you loaded the page, not updated (1) {moved_on.reference}" in page
    assert f"Refused (1) {closed.reference} : Complaint {closed.reference} is closed: it cannot be reassigned." in page
    assert "1 case changed" not in text(client.get(response["Location"]))  # shown once


def test_a_lead_sets_the_category_of_the_ticked_cases(client, boss):
    billing = CategoryFactory(name="Billing")
    one, two = AcknowledgedComplaintFactory.create_batch(2)
    already = AcknowledgedComplaintFactory(category=billing)
    bulk(client, ticked(one, two, already), action="categorise", category=billing.pk)
    assert set(Complaint.objects.filter(category=billing).values_list("pk", flat=True)) == {one.pk, two.pk, already.pk}
    assert one.events.get(kind=Event.CATEGORISED).summary == "Categorised as Billing"
    assert not already.events.exists()  # already so: no second entry


def test_a_lead_extends_each_ticked_deadline_by_business_days_with_one_reason(client, boss):
    # Due Thu 3 Dec and Fri 4 Dec; five business days on: Thu 10 Dec and Fri 11 Dec. The one due on
    # Fri 27 Nov has passed: its deadline can no longer be extended.
    due = [dt.date(2026, 12, 3), dt.date(2026, 12, 4), dt.date(2026, 11, 27)]
    cases = [AcknowledgedComplaintFactory(status=Status.INVESTIGATING, outcome_due=day) for day in due]
    response = bulk(client, ticked(*cases), action="extend", days="5", reason="Our engineer is off sick.")

    new = [Complaint.objects.get(pk=case.pk).outcome_due for case in cases]
    assert new == [dt.date(2026, 12, 10), dt.date(2026, 12, 11), dt.date(2026, 11, 27)]
    assert new[0] == business_days.add_business_days(due[0], 5)
    assert list(Extension.objects.order_by("pk").values_list("reason", flat=True)) == ["Our engineer is off sick."] * 2
    assert OutboundMessage.objects.filter(kind="deadline_extension").count() == 2  # each client told
    page = text(client.get(response["Location"]))
    assert "Extend by 5 business days: 2 cases changed" in page
    assert f"{cases[0].reference} (now due Thu 10 Dec 2026)" in page
    assert f"{cases[2].reference} : The written outcome was due 27 November 2026 and that date has passed" in page


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"action": "extend", "days": "5", "reason": " "}, "Give the reason: each client is told it, word for word."),
        ({"action": "extend", "days": "99", "reason": "Busy."}, "Extend by 1 to 20 business days."),
        ({"action": "assign", "assignee": ""}, "Choose someone who works cases."),
        ({"action": "categorise", "category": "x"}, "Choose a category in use."),
        ({"action": "delete"}, "Choose what to do with the ticked cases."),
    ],
)
def test_a_change_that_cannot_be_made_changes_nothing_and_says_why(client, boss, fields, problem):
    case = AcknowledgedComplaintFactory()
    response = bulk(client, ticked(case), **fields)
    assert f"{problem} Nothing was changed." in text(client.get(response["Location"]))
    assert Complaint.objects.get(pk=case.pk).revision == case.revision


def test_nothing_ticked_is_said_so(client, boss):
    response = bulk(client, [], action="assign", assignee=manager().pk)
    assert "Tick the cases to change first. Nothing was changed." in text(client.get(response["Location"]))


def test_bulk_work_is_for_complaints_leads_only(client):
    worker = manager()
    mine = AcknowledgedComplaintFactory(assignee=worker)
    client.force_login(worker)
    page = client.get(HOME)
    assert 'name="cases"' not in page.content.decode()
    assert bulk(client, ticked(mine), action="assign", assignee=worker.pk).status_code == 403
    assert client.get(BULK).status_code == 405


def test_each_row_carries_its_revision_and_every_box_can_be_ticked_without_javascript(client, boss):
    case = AcknowledgedComplaintFactory()
    services.complaint_categorise(actor=boss, complaint=case, category=CategoryFactory())
    body = client.get(HOME).content.decode()
    assert f'name="cases" value="{case.pk}.1" id="select-{case.pk}">' in body
    assert f"Select {case.reference}" in body
    assert f'value="{case.pk}.1" id="select-{case.pk}" checked>' in client.get(HOME, {"select": "all"}).content.decode()
