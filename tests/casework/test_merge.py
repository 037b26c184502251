"""A complaints lead merges a duplicate into its main complaint (issue 20, point 4): cases.services.complaint_merge.

The duplicate closes as merged (out of the figures, its deadline stopped, out of the sweep), its documents and
the client's messages are copied to the main case, its secure links and email replies lead there, and both
timelines say so. Each test runs at a fixed moment: none depends on the day the suite runs.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from cases import deadlines, links, services
from cases.business_days import LONDON
from cases.models import Attachment, ClientMessage, Complaint, ComplaintEvent, InformationRequest
from inbound.models import InboundEmail
from jpdit_complaints.storage import private_storage
from notifications.models import OutboundMessage
from procedure.models import DeadlineNotice
from procedure.retention import complaints_anonymise
from procedure.sweep import deadlines_sweep
from reports import selectors as reports
from reports import summary
from reports.selectors import Filters, Period
from tests.factories import AcknowledgedComplaintFactory, AttachmentFactory, ComplaintFactory, lead, manager
from tests.inbound import mail
from tests.inbound.helpers import received

pytestmark = pytest.mark.django_db
Status = Complaint.Status
Event = ComplaintEvent.Kind
# Tuesday 1 December 2026, an ordinary business day.
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def boss():
    return lead(first_name="Lena", last_name="Lead")


def pair(**duplicate):
    """A main case and a duplicate of the same client (the same email address)."""
    main = AcknowledgedComplaintFactory(email="ada@example.com", status=Status.INVESTIGATING)
    return main, AcknowledgedComplaintFactory(email="ADA@example.com ", **duplicate)


def merge(boss, duplicate, main, **kwargs):
    return services.complaint_merge(actor=boss, complaint=duplicate, into=main.reference, **kwargs)


def test_the_duplicate_closes_as_merged_with_its_documents_and_messages_copied_and_both_timelines_saying_so(boss):
    main, duplicate = pair(status=Status.INVESTIGATING)
    document = AttachmentFactory(complaint=duplicate, original_name="invoice.pdf")
    services.client_write(complaint=duplicate, text="I also wrote to the sales team.")
    services.complaint_request_information(actor=boss, complaint=duplicate, message="Which site?")

    result = merge(boss, duplicate, main)

    duplicate.refresh_from_db()
    assert (result.main, result.documents, result.messages) == (main, 1, 1)
    assert (duplicate.status, duplicate.merged_into, duplicate.main_case) == (Status.MERGED, main, main)
    # Its deadline stopped and its question ended with it.
    assert duplicate.current_due_date is None
    assert deadlines.owed(duplicate) is None
    assert InformationRequest.objects.get(complaint=duplicate).ended_without_answer
    # The copy names the same stored file; the client's message is on the main case, saying where it came from.
    copy = Attachment.objects.get(complaint=main)
    assert (copy.file.name, copy.original_name, copy.sha256) == (document.file.name, "invoice.pdf", document.sha256)
    (message,) = ClientMessage.objects.filter(complaint=main)
    assert message.text == f"(Sent on {duplicate.reference}.)\n\nI also wrote to the sales team."
    went = duplicate.events.get(kind=Event.MERGED)
    assert (went.client_visible, went.from_status, went.to_status, went.actor) == (
        True,
        "awaiting_client",
        "merged",
        boss,
    )
    assert f"joined to complaint {main.reference}" in went.summary
    joined = main.events.get(kind=Event.DUPLICATE_JOINED)
    assert joined.client_visible
    assert joined.summary == (
        f"Complaint {duplicate.reference}, about the same matter, was joined to this one; 1 document copied across"
    )
    wrote = main.events.get(kind=Event.CLIENT_WROTE)
    assert (wrote.client_visible, wrote.summary) == (
        True,
        f"The message you sent about complaint {duplicate.reference} is with this complaint now",
    )
    # Both show on the main case's pages: the client's message (staff) and the joining (the client's timeline).
    client = _client_page(main)
    assert duplicate.reference in client
    assert "I also wrote to the sales team." in client


def _client_page(case) -> str:
    response = Client().get(reverse("client:case", args=[links.client_token(case)]))
    assert response.status_code == 200
    return response.content.decode()


def test_merging_is_refused_with_a_clear_reason_and_changes_nothing(boss):
    main, duplicate = pair()
    closed = ComplaintFactory(status=Status.CLOSED, email="ada@example.com")
    spam = ComplaintFactory(status=Status.NOT_A_COMPLAINT, email="ada@example.com")
    gone = AcknowledgedComplaintFactory(email="", anonymised_at=NOW, name="Anonymised")
    stranger = AcknowledgedComplaintFactory(email="grace@example.org", name="Grace Hopper")
    responded = ComplaintFactory(status=Status.RESPONDED, email="ada@example.com")

    def refused(case, into, message, **kwargs):
        with pytest.raises(ValidationError, match=message):
            services.complaint_merge(actor=boss, complaint=case, into=into, **kwargs)

    refused(duplicate, duplicate.reference, "this complaint's own reference")
    refused(duplicate, "JPD-2026-99999-Z", "No complaint JPD-2026-99999-Z among the cases you can see")
    refused(duplicate, closed.reference, "is closed: a duplicate can only join a complaint that is still open")
    refused(duplicate, spam.reference, "is closed: not a complaint: a duplicate can only join")
    refused(duplicate, gone.reference, "personal data .* was removed")
    refused(responded, main.reference, "is responded: only a complaint without an outcome yet can be merged")
    refused(duplicate, stranger.reference, "different clients' details. Tick the box")
    with pytest.raises(services.StaleCase):
        merge(boss, duplicate, main, expected_revision=duplicate.revision + 1)
    with pytest.raises(PermissionDenied, match="Only a complaints lead"):
        services.complaint_merge(actor=manager(), complaint=duplicate, into=main.reference)
    duplicate.refresh_from_db()
    assert duplicate.status == Status.ACKNOWLEDGED
    assert not main.events.exists()
    # Confirmed by the lead, cases of clients who look different are merged.
    merge(boss, duplicate, stranger, same_client_confirmed=True)
    assert Complaint.objects.get(pk=duplicate.pk).merged_into == stranger


def test_merging_follows_no_chain_the_duplicates_of_a_merged_case_move_on_to_its_main_case(boss):
    first, second = pair()
    third = AcknowledgedComplaintFactory(email="ada@example.com")
    merge(boss, third, second)  # third → second
    merge(boss, second, first)  # second → first: third now leads to first in one step
    assert Complaint.objects.get(pk=third.pk).merged_into == first
    moved = third.events.filter(kind=Event.MERGED).last()
    assert moved.summary.startswith(f"Its main complaint {second.reference} was merged into {first.reference}")
    late = AcknowledgedComplaintFactory(email="ada@example.com")
    with pytest.raises(
        ValidationError, match=f"was itself merged into {first.reference}: merge into {first.reference}"
    ):
        merge(boss, late, second)


def test_the_duplicates_links_open_the_main_case_and_stop_with_the_main_cases(client, boss):
    main, duplicate = pair()
    token = links.client_token(duplicate)
    merge(boss, duplicate, main)
    page = client.get(reverse("client:case", args=[token]))
    assert page.status_code == 200
    assert main.reference in page.content.decode()
    # A fresh link asked for on the public site with the duplicate's reference goes to the main case.
    OutboundMessage.objects.all().delete()
    services.complaint_request_link(reference=duplicate.reference, email="ada@example.com")
    (sent,) = OutboundMessage.objects.filter(kind="client_link")
    assert sent.complaint == main
    # Revoking the main case's links revokes the duplicate's too: they lead there.
    services.complaint_revoke_client_links(actor=boss, complaint=main)
    assert client.get(reverse("client:case", args=[token])).status_code == 410
    assert links.check_client_token(token).stale_for == main


def test_an_email_reply_quoting_the_duplicate_joins_the_main_case(boss):
    main, duplicate = pair()
    merge(boss, duplicate, main)
    raw = mail.plain(sender="Ada <ada@example.com>", subject=f"Re: {duplicate.reference}", body="Any news?")
    email = received(raw)
    assert (email.state, email.complaint) == (InboundEmail.State.DONE, main)
    assert ClientMessage.objects.get(complaint=main, text__contains="Any news?").from_address == "ada@example.com"
    assert not ClientMessage.objects.filter(complaint=duplicate).exists()


def test_a_merged_case_is_out_of_the_sweep(boss):
    worker = manager()
    main, duplicate = pair(assignee=worker, status=Status.INVESTIGATING)
    Complaint.objects.filter(pk=duplicate.pk).update(outcome_due=dt.date(2026, 11, 20))  # overdue
    merge(boss, duplicate, main)
    deadlines_sweep()
    assert not DeadlineNotice.objects.filter(complaint=duplicate).exists()
    assert not OutboundMessage.objects.filter(complaint=duplicate, kind__startswith="staff_deadline").exists()


def test_retention_keeps_a_document_the_main_case_still_holds(boss, django_capture_on_commit_callbacks):
    main, duplicate = pair()
    name = AttachmentFactory(complaint=duplicate).file.name
    merge(boss, duplicate, main)
    with django_capture_on_commit_callbacks(execute=True):
        complaints_anonymise([duplicate.pk], summary="Retention period over")
    assert private_storage().exists(name)
    assert Attachment.objects.filter(complaint=main, file=name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        complaints_anonymise([main.pk], summary="Retention period over")
    assert not private_storage().exists(name)


def test_merged_duplicates_and_cases_not_complaints_count_in_no_figure_kept_or_live(boss):
    """Out of the figures as they are counted live and as the summary keeps a month (both rules the same)."""
    november = dt.datetime(2026, 11, 10, 10, 0, tzinfo=LONDON)
    main = AcknowledgedComplaintFactory(email="ada@example.com", received_at=november)
    duplicate = AcknowledgedComplaintFactory(email="ada@example.com", received_at=november)
    spam = AcknowledgedComplaintFactory(received_at=november)
    merge(boss, duplicate, main)
    services.complaint_close_not_a_complaint(actor=boss, complaint=spam, reason="A sales enquiry.")
    month = Period.month(2026, 11)
    live = reports.report(month, Filters(), use_summary=False)
    assert summary.refresh() == [dt.date(2026, 11, 1)]
    kept = reports.report(month, Filters())
    assert live.received == kept.received == 1
    assert reports.counted_complaints(month, Filters()).get() == main


def test_a_clients_link_to_a_case_closed_as_not_a_complaint_still_opens(client, boss):
    """The client's page words every state (a case closed as not a complaint had none: a server error)."""
    case = AcknowledgedComplaintFactory()
    services.complaint_close_not_a_complaint(actor=boss, complaint=case, reason="A sales enquiry.")
    response = client.get(reverse("client:case", args=[links.client_token(case)]))
    assert response.status_code == 200
    assert "We closed this without treating it as a complaint." in response.content.decode()
