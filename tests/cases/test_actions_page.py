"""The actions page: open actions promised in outcome letters, who sees which, and marking them done."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import Action, Complaint, ComplaintEvent
from tests.factories import ComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# Wed 18 Nov 2026, 10:00 in London.
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=LONDON)
TODAY = NOW.date()
ACTIONS = reverse("staff:actions")


def responded_case(assignee, **kwargs) -> Complaint:
    return ComplaintFactory(status=Complaint.Status.RESPONDED, assignee=assignee, **kwargs)


def make_action(*, complaint, owner, due, description="Refund the call-out fee.", done=False) -> Action:
    return Action.objects.create(
        complaint=complaint,
        kind=Action.Kind.PUT_RIGHT,
        description=description,
        owner=owner,
        due_date=due,
        done_at=timezone.now() if done else None,
    )


def done_url(action) -> str:
    return reverse("staff:action_done", args=[action.pk])


def rows(response) -> list[str]:
    """The descriptions listed, in page order."""
    return re.findall(r'data-label="Action" class="client-text">([^<]*)<', response.content.decode())


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- listing -----------------------------------------------------------------------------------


def test_open_actions_are_listed_earliest_due_first_with_deadline_labels(client):
    worker = manager()
    case = responded_case(worker)
    make_action(complaint=case, owner=worker, due=TODAY + dt.timedelta(days=7), description="Later one")
    make_action(complaint=case, owner=worker, due=dt.date(2026, 11, 16), description="Overdue one")  # Mon
    make_action(complaint=case, owner=worker, due=TODAY, description="Today's one")
    make_action(complaint=case, owner=worker, due=dt.date(2026, 11, 10), description="Done one", done=True)
    client.force_login(worker)
    response = client.get(ACTIONS)
    assert response.status_code == 200
    assert rows(response) == ["Overdue one", "Today&#x27;s one", "Later one"]
    body = response.content.decode()
    assert "overdue by 2 business days" in body
    assert "due today" in body
    assert "due in 5 business days" in body
    assert reverse("staff:case", args=[case.reference]) in body
    assert "Put things right" in body
    assert "3 open actions" in body


def test_managers_see_their_own_actions_by_default_and_all_they_may_see_on_request(client):
    worker, colleague = manager(), manager()
    mine = responded_case(worker)
    theirs = responded_case(colleague)
    make_action(complaint=mine, owner=worker, due=TODAY, description="Mine on my case")
    make_action(complaint=mine, owner=colleague, due=TODAY, description="Colleague's on my case")
    make_action(complaint=theirs, owner=worker, due=TODAY, description="Mine on their case")
    make_action(complaint=theirs, owner=colleague, due=TODAY, description="Theirs on their case")
    client.force_login(worker)
    assert sorted(rows(client.get(ACTIONS))) == ["Mine on my case", "Mine on their case"]
    assert sorted(rows(client.get(ACTIONS, {"whose": "all"}))) == [
        "Colleague&#x27;s on my case",
        "Mine on my case",
        "Mine on their case",
    ]


def test_leads_see_every_open_action_by_default(client):
    boss = lead()
    make_action(complaint=responded_case(manager()), owner=manager(), due=TODAY, description="Anyone's")
    client.force_login(boss)
    response = client.get(ACTIONS)
    assert rows(response) == ["Anyone&#x27;s"]
    assert rows(client.get(ACTIONS, {"whose": "mine"})) == []


def test_directors_and_signed_out_visitors_cannot_use_the_actions_page(client):
    response = client.get(ACTIONS)
    assert response.status_code == 302
    client.force_login(director())
    assert client.get(ACTIONS).status_code == 403


def test_actions_page_uses_the_same_number_of_queries_for_one_action_or_a_full_page(client):
    boss = lead()
    client.force_login(boss)
    make_action(complaint=responded_case(manager()), owner=manager(), due=TODAY)
    client.get(ACTIONS)  # warm up: session, permissions caches
    with CaptureQueriesContext(connection) as one:
        client.get(ACTIONS)
    for n in range(30):
        make_action(complaint=responded_case(manager()), owner=manager(), due=TODAY + dt.timedelta(days=n))
    with CaptureQueriesContext(connection) as many:
        response = client.get(ACTIONS)
    assert len(rows(response)) == 25
    assert len(many) == len(one)
    assert len(many) <= 7  # the user with their roles, count, page and the lookups around them


def test_actions_are_paginated(client):
    boss = lead()
    case = responded_case(manager())
    for n in range(30):
        make_action(complaint=case, owner=boss, due=TODAY + dt.timedelta(days=n), description=f"Step {n:02d}")
    client.force_login(boss)
    second = client.get(ACTIONS, {"page": 2})
    assert rows(second) == [f"Step {n:02d}" for n in range(25, 30)]
    assert "Page 2 of 2" in second.content.decode()


# --- marking done ------------------------------------------------------------------------------


def test_owner_marks_an_action_done_and_it_leaves_the_list(client):
    worker = manager()
    action = make_action(complaint=responded_case(worker), owner=worker, due=TODAY)
    client.force_login(worker)
    response = client.post(done_url(action), {"next": f"{ACTIONS}?whose=mine"})
    assert response.status_code == 303
    assert response["Location"] == f"{ACTIONS}?whose=mine"
    action.refresh_from_db()
    assert action.done_at is not None
    assert action.done_by == worker
    assert action.complaint.events.filter(kind=ComplaintEvent.Kind.ACTION_DONE).count() == 1
    assert rows(client.get(ACTIONS)) == []


def test_a_manager_cannot_mark_a_colleagues_action_done(client):
    worker, colleague = manager(), manager()
    action = make_action(complaint=responded_case(worker), owner=colleague, due=TODAY)
    client.force_login(worker)
    response = client.post(done_url(action), follow=True)
    assert "Only the action&#x27;s owner or a complaints lead can mark it done." in response.content.decode()
    action.refresh_from_db()
    assert action.done_at is None


def test_a_lead_marks_anyones_action_done(client):
    action = make_action(complaint=responded_case(manager()), owner=manager(), due=TODAY)
    client.force_login(lead())
    client.post(done_url(action))
    action.refresh_from_db()
    assert action.done_at is not None


def test_marking_done_twice_says_so_and_records_once(client):
    worker = manager()
    action = make_action(complaint=responded_case(worker), owner=worker, due=TODAY)
    client.force_login(worker)
    client.post(done_url(action))
    response = client.post(done_url(action), follow=True)
    assert "This action is already marked done." in response.content.decode()
    assert action.complaint.events.filter(kind=ComplaintEvent.Kind.ACTION_DONE).count() == 1


def test_an_action_on_a_case_the_user_cannot_see_is_404(client):
    colleague = manager()
    action = make_action(complaint=responded_case(colleague), owner=colleague, due=TODAY)
    client.force_login(manager())
    assert client.post(done_url(action)).status_code == 404
    action.refresh_from_db()
    assert action.done_at is None


def test_mark_done_refuses_get_and_outside_redirects(client):
    worker = manager()
    action = make_action(complaint=responded_case(worker), owner=worker, due=TODAY)
    client.force_login(worker)
    assert client.get(done_url(action)).status_code == 405
    response = client.post(done_url(action), {"next": "https://evil.example/"})
    assert response["Location"] == ACTIONS
