"""The admin: closure days edited by administrators move deadlines; complaints and the outbox are read-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cases import business_days
from cases.models import ClosureDay, Complaint
from notifications.models import OutboundMessage
from tests.factories import AttachmentFactory, ComplaintEventFactory, ComplaintFactory, UserFactory, lead, manager

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 6, 1)
TUESDAY = dt.date(2026, 6, 2)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="administrator", is_superuser=True))
    return client


def test_closure_day_added_in_the_admin_moves_deadlines_at_once(admin_client):
    # Warm the calendar cache first: the admin's save must make this process forget it.
    assert business_days.add_business_days(MONDAY, 2) == dt.date(2026, 6, 3)

    response = admin_client.post(
        reverse("admin:cases_closureday_add"), {"date": TUESDAY.isoformat(), "reason": "Office move"}
    )

    assert response.status_code == 302
    assert ClosureDay.objects.get(date=TUESDAY).reason == "Office move"
    assert business_days.add_business_days(MONDAY, 2) == dt.date(2026, 6, 4)
    assert not business_days.is_business_day(TUESDAY)


def test_closure_day_deleted_in_the_admin_gives_the_day_back(admin_client):
    day = ClosureDay.objects.create(date=TUESDAY, reason="Office move")
    assert business_days.add_business_days(MONDAY, 2) == dt.date(2026, 6, 4)

    response = admin_client.post(reverse("admin:cases_closureday_delete", args=[day.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert business_days.add_business_days(MONDAY, 2) == dt.date(2026, 6, 3)


def test_closure_days_are_listed_in_date_order(admin_client):
    ClosureDay.objects.create(date=dt.date(2026, 12, 31), reason="Year end")
    ClosureDay.objects.create(date=dt.date(2026, 8, 28), reason="Staff away day")

    response = admin_client.get(reverse("admin:cases_closureday_changelist"))

    page = response.content.decode()
    assert page.index("Staff away day") < page.index("Year end")


def test_only_administrators_may_add_closure_days(client):
    client.force_login(lead())

    response = client.post(
        reverse("admin:cases_closureday_add"), {"date": TUESDAY.isoformat(), "reason": "Not allowed"}
    )

    assert response.status_code == 403
    assert not ClosureDay.objects.exists()


def test_complaints_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    complaint = ComplaintFactory(name="Original Name")

    assert admin_client.get(reverse("admin:cases_complaint_add")).status_code == 403
    change_url = reverse("admin:cases_complaint_change", args=[complaint.pk])
    admin_client.post(change_url, {"name": "Changed Name", "status": Complaint.Status.CLOSED})
    delete = admin_client.post(reverse("admin:cases_complaint_delete", args=[complaint.pk]), {"post": "yes"})

    complaint.refresh_from_db()
    assert complaint.name == "Original Name"
    assert complaint.status == Complaint.Status.RECEIVED
    assert delete.status_code == 403
    assert Complaint.objects.filter(pk=complaint.pk).exists()


def test_complaint_page_shows_its_timeline_and_documents_without_a_file_link(admin_client):
    complaint = ComplaintFactory()
    ComplaintEventFactory(complaint=complaint, summary="Complaint received through the website")
    attachment = AttachmentFactory(complaint=complaint, original_name="call-log.txt")

    response = admin_client.get(reverse("admin:cases_complaint_change", args=[complaint.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert complaint.reference in page
    assert "Complaint received through the website" in page
    assert "call-log.txt" in page
    assert attachment.file.name not in page


def test_complaint_search_finds_a_reference_typed_as_heard_on_the_phone(admin_client):
    wanted, other = ComplaintFactory(), ComplaintFactory()
    spoken = wanted.reference.lower().replace("-", " ")

    response = admin_client.get(reverse("admin:cases_complaint_changelist"), {"q": spoken})

    page = response.content.decode()
    assert wanted.reference in page
    assert other.reference not in page


def test_manager_sees_in_the_admin_only_cases_they_may_work_on(client):
    user = manager()
    mine = ComplaintFactory(assignee=user)
    unassigned = ComplaintFactory()
    someone_elses = ComplaintFactory(assignee=manager())
    client.force_login(user)

    response = client.get(reverse("admin:cases_complaint_changelist"))
    hidden = client.get(reverse("admin:cases_complaint_change", args=[someone_elses.pk]))

    page = response.content.decode()
    assert mine.reference in page
    assert unassigned.reference in page
    assert someone_elses.reference not in page
    assert hidden.status_code == 302  # the admin sends an unknown object back to the list


def test_outbox_is_listed_read_only(admin_client):
    complaint = ComplaintFactory()
    message = OutboundMessage.objects.create(
        dedupe_key=f"complaint:{complaint.pk}:acknowledgement",
        kind="complaint_acknowledgement",
        complaint=complaint,
        to_email="client@example.com",
        attempts=3,
        last_error="SMTPServerDisconnected",
    )

    listing = admin_client.get(reverse("admin:notifications_outboundmessage_changelist"))
    admin_client.post(
        reverse("admin:notifications_outboundmessage_change", args=[message.pk]), {"state": "sent", "attempts": 0}
    )

    page = listing.content.decode()
    assert "client@example.com" in page
    assert "SMTPServerDisconnected" in page
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.PENDING
    assert message.attempts == 3
    assert admin_client.get(reverse("admin:notifications_outboundmessage_add")).status_code == 403
