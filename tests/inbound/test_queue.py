"""The emails waiting for a complaints lead: the pages and each decision a lead makes (inbound.views, services)."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from appeals.models import Appeal
from cases.business_days import LONDON
from cases.models import ClientMessage, Complaint
from inbound import services
from inbound.models import InboundEmail
from notifications.models import OutboundMessage
from tests.appeals.helpers import responded
from tests.factories import AcknowledgedComplaintFactory, director, lead, manager
from tests.inbound import mail
from tests.inbound.helpers import received, waiting_email

pytestmark = pytest.mark.django_db

ARRIVED = dt.datetime(2026, 12, 9, 10, 15, tzinfo=LONDON)
State = InboundEmail.State
Outcome = InboundEmail.Outcome


@pytest.fixture(autouse=True)
def _an_ordinary_morning():
    with time_machine.travel(ARRIVED + dt.timedelta(hours=1), tick=True):
        yield


@pytest.fixture
def boss(client):
    user = lead(first_name="Lena", last_name="Lead")
    client.force_login(user)
    return user


def text(response) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def spam() -> InboundEmail:
    return waiting_email(
        mail.plain(
            sender="Grace Hopper <grace@example.com>",
            subject="Broken <b>laptop</b> repair",
            body="My laptop came back broken.\n<script>alert('x')</script>",
            headers={"X-Spam-Flag": "YES"},
            attachments=[("quote.pdf", mail.PDF, "application/pdf")],
        ),
        arrived=ARRIVED,
    )


def test_the_list_shows_each_waiting_email_with_why_and_by_when(client, boss):
    email = spam()
    page = text(client.get(reverse("staff:email_list")))
    assert "Grace Hopper" in page
    assert "Broken <b>laptop</b> repair" in page  # the subject, escaped, not rendered
    assert "Flagged as spam by the mail server." in page
    assert "Fri 11 Dec 2026" in page  # acknowledge within 2 business days of its arrival
    assert reverse("staff:email", args=[email.pk]) in client.get(reverse("staff:email_list")).content.decode()


def test_an_email_is_shown_as_plain_text_never_rendered_with_its_attachments(client, boss):
    email = spam()
    response = client.get(reverse("staff:email", args=[email.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "<script>alert" not in body
    assert "quote.pdf" in body
    download = client.get(reverse("staff:email_download", args=[email.pk]))
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == email.raw.open("rb").read()


@pytest.mark.parametrize("make", [manager, director])
def test_only_complaints_leads_see_the_emails(client, make):
    email = spam()
    client.force_login(make())
    assert client.get(reverse("staff:email_list")).status_code == 403
    assert client.get(reverse("staff:email", args=[email.pk])).status_code == 403
    assert (
        client.post(reverse("staff:email_not_a_complaint", args=[email.pk]), {"reject-reason": "x"}).status_code == 403
    )


def test_a_lead_opens_a_waiting_email_as_a_complaint_received_when_it_arrived(client, boss):
    email = spam()
    response = client.post(
        reverse("staff:email_open", args=[email.pk]),
        {"open-name": "Grace Hopper", "open-email": "grace@example.com", "open-description": "Laptop broken."},
    )

    complaint = Complaint.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("staff:case", args=[complaint.reference])
    assert (complaint.channel, complaint.received_at, complaint.logged_by) == ("email", ARRIVED, boss)
    assert complaint.attachments.get().original_name == "quote.pdf"
    assert OutboundMessage.objects.filter(complaint=complaint, kind="complaint_acknowledgement").count() == 1
    email.refresh_from_db()
    assert (email.state, email.outcome, email.complaint, email.handled_by) == (
        State.HANDLED,
        Outcome.NEW_COMPLAINT,
        complaint,
        boss,
    )


def test_a_lead_adds_a_strangers_email_to_a_case_once_sure_of_the_sender(client, boss):
    case = AcknowledgedComplaintFactory(email="ada@example.com", status=Complaint.Status.INVESTIGATING)
    email = waiting_email(mail.from_stranger_quoting(case.reference))

    response = client.post(reverse("staff:email_attach", args=[email.pk]), {"attach-reference": case.reference})

    assert response.status_code == 303
    message = ClientMessage.objects.get(complaint=case)
    assert message.from_address == "mallory@evil.example"
    assert case.events.filter(summary__contains="attached to the case by a complaints lead", actor=boss).exists()
    email.refresh_from_db()
    assert (email.state, email.outcome) == (State.HANDLED, Outcome.CLIENT_MESSAGE)


def test_a_wrong_reference_is_said_next_to_the_field_and_changes_nothing(client, boss):
    email = spam()
    response = client.post(reverse("staff:email_attach", args=[email.pk]), {"attach-reference": "JPD-2026-00042-A"})
    assert response.status_code == 400
    assert "No case JPD-2026-00042-A" in text(response)
    email.refresh_from_db()
    assert email.state == State.WAITING


def test_a_lead_logs_an_email_as_a_late_appeal_with_the_reason(client, boss):
    with time_machine.travel(dt.datetime(2026, 10, 1, 10, 0, tzinfo=LONDON), tick=False):
        case = responded(email="ada@example.com")
    email = waiting_email(mail.plain(to=mail.APPEALS, subject=f"Appeal {case.reference}", body="I was in hospital."))

    refused = client.post(reverse("staff:email_appeal", args=[email.pk]), {"appeal-reference": case.reference})
    assert refused.status_code == 400
    assert "record why it is being accepted" in text(refused)

    client.post(
        reverse("staff:email_appeal", args=[email.pk]),
        {"appeal-reference": case.reference, "appeal-late_reason": "Hospital letter seen."},
    )
    appeal = Appeal.objects.get(complaint=case)
    assert (appeal.channel, appeal.received_at, appeal.logged_by) == ("email", email.arrived_at, boss)
    assert appeal.late_reason == "Hospital letter seen."


def test_not_a_complaint_is_kept_with_the_reason_and_the_sender_is_told_nothing(client, boss):
    email = spam()
    client.post(reverse("staff:email_not_a_complaint", args=[email.pk]), {"reject-reason": "A sales enquiry."})
    email.refresh_from_db()
    assert (email.state, email.outcome, email.handled_note) == (
        State.HANDLED,
        Outcome.NOT_A_COMPLAINT,
        "A sales enquiry.",
    )
    assert not OutboundMessage.objects.exists()
    assert InboundEmail.objects.filter(pk=email.pk).exists()  # nothing is deleted


def test_releasing_a_message_held_as_spam_reads_it_again_as_a_persons(client, boss):
    email = spam()
    client.post(reverse("staff:email_release", args=[email.pk]))
    email.refresh_from_db()
    assert (email.state, email.outcome, email.released) == (State.DONE, Outcome.NEW_COMPLAINT, True)


def test_releasing_an_automatic_message_reads_it_again_as_a_persons(client, boss):
    email = received(mail.outlook_out_of_office(), arrived=ARRIVED)
    assert email.state == State.AUTOMATIC
    client.post(reverse("staff:email_release", args=[email.pk]))
    email.refresh_from_db()
    assert email.outcome == Outcome.NEW_COMPLAINT


def test_a_second_decision_on_the_same_email_is_refused_and_changes_nothing(client, boss):
    email = spam()
    client.post(reverse("staff:email_not_a_complaint", args=[email.pk]), {"reject-reason": "Spam."})
    response = client.post(
        reverse("staff:email_open", args=[email.pk]),
        {"open-name": "Grace Hopper", "open-email": "grace@example.com", "open-description": "x"},
    )
    assert response.status_code == 303
    assert not Complaint.objects.exists()
    assert "dealt with by someone else" in text(client.get(response["Location"]))


@pytest.mark.postgres
def test_two_leads_opening_the_same_email_at_once_make_one_complaint(transactional_db):
    email = spam()
    leads = [lead(), lead()]
    results: list[str] = []

    def open_it(actor) -> None:
        try:
            services.email_open_as_complaint(
                actor=actor,
                email=email,
                details=services.ComplaintDetails(name="Grace", email="grace@example.com", description="x"),
            )
            results.append("opened")
        except services.AlreadyHandled:
            results.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=open_it, args=(actor,)) for actor in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["already", "opened"]
    assert Complaint.objects.count() == 1


# --- A message the reader could not keep ------------------------------------------------------------


def refused_message() -> InboundEmail:
    return services.email_refused(
        mailbox="complaints",
        identity="imap:7:42",
        arrived_at=ARRIVED,
        source=InboundEmail.Source.IMAP,
        size=60 * 1024 * 1024,
        why="A message of 60.0 MB, larger than the 50.0 MB kept.",
    )


def test_a_message_the_reader_could_not_keep_is_listed_once_and_can_still_be_opened(client, boss):
    email = refused_message()
    assert refused_message().pk == email.pk  # the reader recording it again finds it
    page = text(client.get(reverse("staff:email_list")))
    assert "A message of 60.0 MB, larger than the 50.0 MB kept." in page
    assert "Fri 11 Dec 2026" in page  # acknowledged within two business days like any other

    shown = client.get(reverse("staff:email", args=[email.pk]))
    assert shown.status_code == 200
    assert "Download the message as it arrived" not in text(shown)
    assert "Release and read again" not in text(shown)
    assert client.get(reverse("staff:email_download", args=[email.pk])).status_code == 404

    response = client.post(
        reverse("staff:email_open", args=[email.pk]),
        {"open-name": "Grace Hopper", "open-email": "grace@example.com", "open-description": "Sent a huge scan."},
    )
    complaint = Complaint.objects.get()
    assert response.status_code == 303
    assert (complaint.received_at, complaint.attachments.count()) == (ARRIVED, 0)


def test_a_message_nothing_of_which_was_kept_cannot_be_released(client, boss):
    email = refused_message()
    client.post(reverse("staff:email_release", args=[email.pk]))
    email.refresh_from_db()
    assert (email.state, email.quarantined, email.released) == (State.WAITING, True, False)
