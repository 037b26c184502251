"""Staff pages speak of the client, not to them; they carry the staff footer, not the clients'."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import services
from cases.models import ComplaintEvent
from tests.factories import AcknowledgedComplaintFactory, manager

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("said_to_the_client", "said_to_staff"),
    [
        ("We asked you for more information", "We asked the client for more information"),
        (
            "You sent the information we asked for by email; the investigation continues",
            "The client sent the information we asked for by email; the investigation continues",
        ),
        ("You withdrew your complaint", "The client withdrew the complaint"),
        ("We started investigating your complaint", "We started investigating the complaint"),
        ("Your appeal was received", "The appeal was received"),
        (
            "Complaint acknowledged by email; reference JPD-2026-00001-A given",
            "Complaint acknowledged by email; reference JPD-2026-00001-A given",
        ),
    ],
)
def test_an_entry_the_client_sees_is_said_of_the_client_on_staff_pages(said_to_the_client, said_to_staff):
    assert ComplaintEvent(summary=said_to_the_client, client_visible=True).staff_summary == said_to_staff


def test_a_staff_only_entry_is_shown_as_written():
    assert ComplaintEvent(summary="Note about you", client_visible=False).staff_summary == "Note about you"


def test_the_case_page_timeline_speaks_of_the_client_and_has_the_staff_footer(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")
    client.force_login(worker)

    page = client.get(reverse("staff:case", args=[complaint.reference])).content.decode()

    assert "We asked the client for more information" in page
    assert "We asked you for more information" not in page
    assert "Staff area of the" in page
    assert "Questions about a complaint:" not in page  # the clients' footer
