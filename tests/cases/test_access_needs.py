"""What helps a client take part: asked on the form and at staff intake, shown on the case, in reminders and
on the Director's appeal page; an agreed adjustment on the timeline; large print letters at 16 pt or more."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse

from cases.models import Complaint, ComplaintEvent
from notifications.models import OutboundMessage
from notifications.rendering import base_context
from procedure.sweep import deadlines_sweep
from tests.appeals.helpers import lodged, responded
from tests.factories import AcknowledgedComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
Need = Complaint.AccessNeed


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def public_form(**overrides) -> dict:
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "organisation": "",
        "preferred_contact": "email",
        "postal_address": "",
        "incident_date": "2026-11-20",
        "description": "The engineer never came.",
        "desired_outcome": "",
        "privacy_ack": "on",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_public_form_asks_and_the_case_keeps_it_with_a_timeline_entry(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    page = text_of(client.get(reverse("public:complaint_form")))
    assert "Is there anything that would help you?" in page
    assert "Large print letters" in page

    response = client.post(
        reverse("public:complaint_form"),
        public_form(access_needs=[Need.LARGE_PRINT, Need.MORE_TIME], access_needs_detail="Mornings are best."),
    )

    assert response.status_code == 303
    complaint = Complaint.objects.get()
    assert complaint.access_needs == [Need.LARGE_PRINT, Need.MORE_TIME]
    assert complaint.access_needs_detail == "Mornings are best."
    assert complaint.large_print
    event = complaint.events.get(kind=ComplaintEvent.Kind.ADJUSTMENT)
    assert event.summary == "You asked us for: large print letters; more time to reply; Mornings are best."


def test_an_unknown_need_is_refused_by_the_form(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    response = client.post(reverse("public:complaint_form"), public_form(access_needs=["telepathy"]))
    assert response.status_code == 200
    assert "Select a valid choice" in text_of(response)
    assert not Complaint.objects.exists()


def test_staff_record_an_agreed_adjustment_on_the_timeline_and_the_case_header_shows_it(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    client.force_login(worker)

    response = client.post(
        reverse("staff:case_access_needs", args=[complaint.reference]),
        {
            "needs-expected_revision": complaint.revision,
            "needs-needs": [Need.PHONE_INSTEAD],
            "needs-detail": "Call after 2 pm.",
        },
    )

    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.access_needs == [Need.PHONE_INSTEAD]
    event = complaint.events.get(kind=ComplaintEvent.Kind.ADJUSTMENT)
    assert (event.summary, event.actor, event.client_visible) == (
        "We agreed: a phone call instead of writing; Call after 2 pm.",
        worker,
        True,
    )
    page = text_of(client.get(reverse("staff:case", args=[complaint.reference])))
    assert "Work with this client this way: A phone call instead of writing Call after 2 pm." in page


def test_reminders_to_staff_say_how_to_work_with_the_client():
    lead()
    worker = manager()
    complaint = AcknowledgedComplaintFactory(
        assignee=worker, status=Complaint.Status.INVESTIGATING, access_needs=[Need.PLAIN_LANGUAGE]
    )
    Complaint.objects.filter(pk=complaint.pk).update(outcome_due=dt.date(2026, 12, 2))
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=LONDON), tick=False):
        deadlines_sweep()
        [reminder] = OutboundMessage.objects.filter(kind="staff_deadline_reminder")
        from notifications.services import message_deliver

        message_deliver(reminder.pk)
    reminder.refresh_from_db()
    assert "Work with this client this way: plain language." in reminder.body_text


def test_the_directors_appeal_page_shows_the_adjustments(client):
    appeal = lodged(responded(access_needs=[Need.LARGE_PRINT]))
    client.force_login(director())
    page = text_of(client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk])))
    assert "Work with the client this way Large print letters" in page


def test_large_print_letters_set_every_text_at_16_points_or_more():
    complaint = AcknowledgedComplaintFactory(access_needs=[Need.LARGE_PRINT])
    context = {**base_context(), "complaint": complaint, "letter_date": complaint.received_at}
    large = render_to_string("letters/acknowledgement.html", context)
    sizes = [float(size) for size in re.findall(r"font-size:\s*([\d.]+)pt\s*!important", large)]
    assert sizes
    assert min(sizes) >= 16
    ordinary = render_to_string(
        "letters/acknowledgement.html", {**context, "complaint": AcknowledgedComplaintFactory()}
    )
    assert "!important" not in ordinary
