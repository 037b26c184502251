"""The "Extend the deadline" form on the staff case page (complaints leads only)."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from cases.models import Complaint, ComplaintEvent, Extension
from notifications.models import OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
MONDAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)
REASON = "The engineer who did the work is on leave until 7 December."


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def investigating(**kwargs) -> Complaint:
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.INVESTIGATING, **kwargs)
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 12, 2))
    complaint.refresh_from_db()
    return complaint


def post(client, complaint, **data):
    values = {"extend-expected_revision": complaint.revision, "extend-new_date": "2026-12-09", "extend-reason": REASON}
    values.update({f"extend-{k}": v for k, v in data.items()})
    return client.post(reverse("staff:case_extend", args=[complaint.reference]), values)


def text(response) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def test_a_lead_sees_the_form_with_the_current_due_date(client):
    complaint = investigating()
    client.force_login(lead())

    body = text(client.get(reverse("staff:case", args=[complaint.reference])))

    assert "Extend the deadline" in body
    assert "Now due Wednesday 2 December 2026" in body


def test_a_manager_sees_no_form_and_cannot_post_it(client):
    worker = manager()
    complaint = investigating(assignee=worker)
    client.force_login(worker)

    assert "Extend the deadline" not in text(client.get(reverse("staff:case", args=[complaint.reference])))
    response = post(client, complaint)

    assert response.status_code == 403
    assert not Extension.objects.exists()


def test_extending_moves_the_date_tells_the_client_and_shows_on_the_timeline(client):
    complaint = investigating()
    client.force_login(lead())

    response = post(client, complaint)

    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.outcome_due == dt.date(2026, 12, 9)
    assert OutboundMessage.objects.filter(kind="deadline_extension", complaint=complaint).count() == 1
    page = text(client.get(reverse("staff:case", args=[complaint.reference])))
    assert "extended from 2 December 2026 to 9 December 2026" in page
    assert REASON in page
    assert complaint.events.filter(kind=ComplaintEvent.Kind.DEADLINE_EXTENDED, client_visible=True).exists()


def test_a_weekend_date_is_refused_next_to_the_field_and_the_reason_is_kept(client):
    complaint = investigating()
    client.force_login(lead())

    response = post(client, complaint, new_date="2026-12-05")

    assert response.status_code == 400
    assert "is not a business day" in text(response)
    assert REASON in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.outcome_due == dt.date(2026, 12, 2)


def test_no_form_once_the_due_date_has_passed(client):
    complaint = investigating()
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 11, 27))
    client.force_login(lead())

    body = text(client.get(reverse("staff:case", args=[complaint.reference])))
    response = post(client, Complaint.objects.get(pk=complaint.pk))

    assert "Extend the deadline" not in body
    assert response.status_code == 400
    assert "can only be extended before it is missed" in text(response)
