"""When promised actions are done, the client is emailed once a day at most, at close of business,
listing what was done that day."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from cases import services
from notifications import services as outbox
from notifications.models import OutboundMessage
from tests.factories import AcknowledgedComplaintFactory, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
# Tuesday 8 December 2026: an ordinary business day.
DAY = dt.date(2026, 12, 8)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def upheld_with_actions(worker, n: int):
    with time_machine.travel(at(9), tick=False):
        complaint = AcknowledgedComplaintFactory(assignee=worker)
        complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
        return services.complaint_issue_outcome(
            actor=worker,
            complaint=complaint,
            outcome="upheld",
            findings="Late.",
            actions=[
                services.ActionSpec(
                    kind="put_right", description=f"Step {k}", owner=worker, due_date=dt.date(2026, 12, 15)
                )
                for k in range(1, n + 1)
            ],
        )


def digests() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind="actions_done").order_by("next_attempt_at"))


def test_actions_done_in_one_day_make_one_email_at_close_of_business_listing_them():
    worker = manager()
    complaint = upheld_with_actions(worker, 3)
    first, second, third = complaint.actions.order_by("pk")
    with time_machine.travel(at(10), tick=False):
        services.action_mark_done(actor=worker, action=first)
    with time_machine.travel(at(15), tick=False):
        services.action_mark_done(actor=worker, action=second)

    [digest] = digests()
    assert digest.next_attempt_at == at(17, 30)
    with time_machine.travel(at(17, 29), tick=False):
        assert digest.pk not in outbox.messages_due_for_sending()  # not before close of business
    with time_machine.travel(at(17, 31), tick=False):
        assert digest.pk in outbox.messages_due_for_sending()
        assert outbox.message_deliver(digest.pk) == "sent"
    digest.refresh_from_db()
    assert digest.subject == f"Done today on your complaint {complaint.reference}"
    assert "- Step 1" in digest.body_text
    assert "- Step 2" in digest.body_text
    assert "Step 3" not in digest.body_text
    assert "On Tuesday 8 December 2026 we did" in digest.body_text

    # Done after close of business: the next day's email, alone.
    with time_machine.travel(at(18), tick=False):
        services.action_mark_done(actor=worker, action=third)
    later = digests()[1]
    assert later.next_attempt_at == at(17, 30, day=DAY + dt.timedelta(days=1))
    with time_machine.travel(at(17, 31, day=DAY + dt.timedelta(days=1)), tick=False):
        outbox.message_deliver(later.pk)
    later.refresh_from_db()
    assert "- Step 3" in later.body_text
    assert "Step 1" not in later.body_text


def test_a_client_without_email_gets_no_digest():
    worker = manager()
    complaint = upheld_with_actions(worker, 1)
    complaint.email = ""
    complaint.save(update_fields=["email"])
    with time_machine.travel(at(10), tick=False):
        services.action_mark_done(actor=worker, action=complaint.actions.get())
    assert digests() == []
