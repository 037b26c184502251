"""The emails waiting for a complaints lead on the staff dashboard (cases.extensions, inbound.selectors)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.business_days import LONDON
from cases.models import Complaint
from tests.factories import AcknowledgedComplaintFactory, lead, manager
from tests.inbound import mail
from tests.inbound.helpers import waiting_email

pytestmark = pytest.mark.django_db

ARRIVED = dt.datetime(2026, 12, 9, 10, 15, tzinfo=LONDON)  # a Wednesday: acknowledge by Friday 11th
THURSDAY = dt.datetime(2026, 12, 10, 9, 0, tzinfo=LONDON)  # Friday is within the next two business days
MONDAY = dt.datetime(2026, 12, 14, 9, 0, tzinfo=LONDON)  # Friday has passed
HOME = reverse("staff:home")


def text(response) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def badge(response, key: str) -> int:
    tab = next(tab for tab in response.context["board"].tabs if tab.key == key)
    return tab.count


@pytest.fixture
def spam():
    with time_machine.travel(ARRIVED, tick=False):
        return waiting_email(
            mail.plain(
                sender="Grace Hopper <grace@example.com>",
                subject="Broken laptop repair",
                body="My laptop came back broken.",
                headers={"X-Spam-Flag": "YES"},
            ),
            arrived=ARRIVED,
        )


@pytest.fixture
def boss():
    return lead()


def visit(client, user, when: dt.datetime, **query):
    """The dashboard as ``user`` sees it at ``when`` (signed in then: sessions expire)."""
    with time_machine.travel(when, tick=False):
        client.force_login(user)
        return client.get(HOME, query)


def test_the_lead_has_an_email_in_tab_with_the_number_waiting(client, boss, spam):
    response = visit(client, boss, THURSDAY)
    extras = response.context["board"].extras
    assert [(extra.label, extra.count, extra.url) for extra in extras] == [("Email in", 1, reverse("staff:email_list"))]
    assert f'href="{reverse("staff:email_list")}"' in response.content.decode()


def test_an_email_due_soon_counts_in_the_due_soon_tab_and_is_listed_above_its_cases(client, boss, spam):
    case = AcknowledgedComplaintFactory(assignee=boss)
    Complaint.objects.filter(pk=case.pk).update(outcome_due=dt.date(2026, 12, 11))
    response = visit(client, boss, THURSDAY, tab="due_soon")
    assert badge(response, "due_soon") == 2  # the case and the email
    assert badge(response, "overdue") == 0
    page = text(response)
    assert "Email in: 1 due soon" in page
    assert "Email from Grace Hopper: Broken laptop repair" in page
    assert "Acknowledge by Fri 11 Dec 2026." in page
    assert "Flagged as spam by the mail server." in page
    assert page.index("Grace Hopper") < page.index(case.reference)
    assert "1 case open" in page  # the cases' own count is still the cases'


def test_a_missed_acknowledgement_counts_in_the_overdue_tab(client, boss, spam):
    overdue = visit(client, boss, MONDAY, tab="overdue")
    due_soon = visit(client, boss, MONDAY, tab="due_soon")
    assert badge(overdue, "overdue") == 1
    assert "Email in: 1 overdue" in text(overdue)
    assert "Email in:" not in text(due_soon)


def test_emails_are_not_listed_in_other_tabs_or_in_a_search(client, boss, spam):
    for query in ({"tab": "all"}, {"tab": "mine"}, {"tab": "overdue", "q": "laptop"}):
        assert "Email from Grace Hopper" not in text(visit(client, boss, MONDAY, **query)), query


def test_a_dealt_with_email_leaves_the_dashboard(client, boss, spam):
    spam.state = spam.State.HANDLED
    spam.save(update_fields=["state"])
    response = visit(client, boss, MONDAY, tab="overdue")
    assert badge(response, "overdue") == 0
    assert response.context["board"].extras[0].count == 0
    assert "Email in:" not in text(response)


def test_a_manager_sees_no_email_in_tab_nor_the_emails(client, spam):
    response = visit(client, manager(), MONDAY, tab="overdue")
    assert response.context["board"].extras == []
    assert reverse("staff:email_list") not in response.content.decode()
    assert badge(response, "overdue") == 0


def test_the_waiting_emails_cost_the_lead_a_fixed_number_of_queries(client, boss):
    with time_machine.travel(ARRIVED, tick=False):
        for number in range(15):
            waiting_email(
                mail.plain(
                    sender=f"Sender {number} <s{number}@example.com>",
                    subject=f"Complaint {number}",
                    message_id=f"<complaint-{number}@example.com>",
                    body="Please call me.",
                    headers={"X-Spam-Flag": "YES"},
                ),
                arrived=ARRIVED,
            )
    visit(client, boss, MONDAY, tab="overdue")  # the role caches
    with time_machine.travel(MONDAY, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(HOME, {"tab": "overdue"})
    assert "Email in: 15 overdue" in text(response)
    assert "All 15 in Email in" in text(response)  # ten listed, the rest a link away
    assert len(response.context["board"].extra_items[0][1]) == 10
    assert len(queries) <= 11, [query["sql"] for query in queries.captured_queries]
