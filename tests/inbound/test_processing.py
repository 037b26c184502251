"""What each message that reaches complaints@ or appeals@ becomes, exactly once (inbound.services)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError, transaction

from appeals.models import Appeal
from cases import services as case_services
from cases.business_days import LONDON
from cases.models import Attachment, ClientMessage, Complaint, InformationRequest
from inbound import services
from inbound.models import InboundEmail, Mailbox
from notifications.models import OutboundMessage
from notifications.services import message_deliver
from tests.appeals.helpers import responded
from tests.factories import AcknowledgedComplaintFactory, manager
from tests.inbound import mail

pytestmark = pytest.mark.django_db

# Wednesday 9 December 2026, 10:15 London: a business day, before close of business.
ARRIVED = dt.datetime(2026, 12, 9, 10, 15, tzinfo=LONDON)
State = InboundEmail.State
Outcome = InboundEmail.Outcome


@pytest.fixture(autouse=True)
def _an_ordinary_morning():
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=5), tick=False):
        yield


def receive(raw: bytes, mailbox: str = Mailbox.COMPLAINTS, arrived: dt.datetime = ARRIVED) -> InboundEmail:
    email, _created = services.email_store(raw=raw, mailbox=mailbox, arrived_at=arrived, source="pipe")
    services.email_process(email.pk)
    email.refresh_from_db()
    return email


def sent_to(complaint: Complaint, kind: str) -> OutboundMessage:
    return OutboundMessage.objects.get(complaint=complaint, kind=kind)


def deliver(message: OutboundMessage) -> str:
    """Send it as the worker does; returns its Message-ID (what a reply names in In-Reply-To)."""
    message_deliver(message.pk)
    message.refresh_from_db()
    return message.message_id


# --- New complaints -----------------------------------------------------------------------------


def test_a_new_email_to_complaints_becomes_a_complaint_received_when_our_server_received_it():
    email = receive(mail.plain(attachments=[("report.pdf", mail.PDF, "application/pdf")]))

    assert (email.state, email.outcome) == (State.DONE, Outcome.NEW_COMPLAINT)
    complaint = email.complaint
    assert complaint.channel == Complaint.Channel.EMAIL
    assert complaint.received_at == ARRIVED  # not the sender's Date header (1 December)
    assert (complaint.name, complaint.email) == ("Ada Lovelace", "ada@example.com")
    assert complaint.description.startswith("The firewall is still broken\n\nYour engineer did not come")
    assert complaint.acknowledgement_due == dt.date(2026, 12, 11)
    [document] = complaint.attachments.all()
    assert (document.original_name, document.source) == ("report.pdf", Attachment.Source.CLIENT)
    assert document.file.read() == mail.PDF
    assert sent_to(complaint, "complaint_acknowledgement").to_email == "ada@example.com"


def test_the_same_message_stored_twice_or_read_twice_makes_one_complaint():
    raw = mail.plain()
    first, created = services.email_store(raw=raw, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="imap")
    again, created_again = services.email_store(raw=raw, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="imap")
    assert (created, created_again, again.pk) == (True, False, first.pk)

    services.email_process(first.pk)
    services.email_process(first.pk)  # a task delivered twice

    assert Complaint.objects.count() == 1
    assert OutboundMessage.objects.filter(kind="complaint_acknowledgement").count() == 1


def test_a_message_without_message_id_is_known_by_its_hash():
    raw = mail.no_message_id()
    first, _ = services.email_store(raw=raw, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="pipe")
    second, created = services.email_store(raw=raw, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="pipe")
    assert first.key.startswith("complaints:sha256:")
    assert (created, second.pk) == (False, first.pk)


def test_the_same_message_sent_to_both_mailboxes_makes_one_case():
    raw = mail.plain(to=f"{mail.COMPLAINTS}, {mail.APPEALS}")
    to_complaints = receive(raw, Mailbox.COMPLAINTS)
    to_appeals = receive(raw, Mailbox.APPEALS)

    assert to_complaints.outcome == Outcome.NEW_COMPLAINT
    assert to_appeals.state == State.DUPLICATE
    assert Complaint.objects.count() == 1


def test_a_message_to_both_mailboxes_is_read_from_complaints_whichever_was_stored_first():
    raw = mail.plain(to=f"{mail.COMPLAINTS}, {mail.APPEALS}")
    to_appeals = receive(raw, Mailbox.APPEALS)  # the appeals@ reader was quicker
    assert to_appeals.state == State.STORED  # waiting a moment for its copy to complaints@

    to_complaints = receive(raw, Mailbox.COMPLAINTS)
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=10), tick=False):
        services.emails_process_stored()
    to_appeals.refresh_from_db()

    assert to_complaints.outcome == Outcome.NEW_COMPLAINT
    assert (to_appeals.state, to_appeals.reason) == (
        State.DUPLICATE,
        "The same message reached complaints@ too, and is read from there.",
    )
    assert Complaint.objects.count() == 1
    assert OutboundMessage.objects.filter(kind="complaint_acknowledgement").count() == 1


def test_an_appeals_copy_whose_complaints_copy_never_comes_is_read_after_the_wait():
    raw = mail.plain(to=f"{mail.COMPLAINTS}, {mail.APPEALS}")
    to_appeals = receive(raw, Mailbox.APPEALS)
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=10), tick=False):
        assert services.emails_process_stored() == 1
        to_appeals.refresh_from_db()
        assert to_appeals.state == State.WAITING  # an appeal naming no case: a lead decides
        to_complaints = receive(raw, Mailbox.COMPLAINTS)  # its reader was down all that time
    assert to_complaints.state == State.DUPLICATE
    assert not Complaint.objects.exists()


def test_a_message_to_appeals_alone_is_read_at_once():
    to_appeals = receive(mail.plain(to=mail.APPEALS), Mailbox.APPEALS)
    assert (to_appeals.state, to_appeals.reason) == (
        State.WAITING,
        "An appeal with no valid reference of a complaint (or one we cannot find).",
    )


def test_a_second_new_complaint_from_one_address_on_one_day_waits_for_a_lead_unacknowledged():
    receive(mail.plain(message_id="<one@example.com>"))
    second = receive(mail.plain(message_id="<two@example.com>", subject="And another thing"))

    assert second.state == State.WAITING
    assert "mail loop" in second.reason
    assert second.acknowledgement_due == dt.date(2026, 12, 11)
    assert Complaint.objects.count() == 1
    assert OutboundMessage.objects.filter(kind="complaint_acknowledgement").count() == 1


# --- Replies ---------------------------------------------------------------------------------


@pytest.fixture
def waiting_case():
    """A case whose investigator asked the client a question by email (sent, so a reply can name it)."""
    worker = manager()
    case = AcknowledgedComplaintFactory(email="ada@example.com", assignee=worker, outcome_due=dt.date(2026, 12, 18))
    case = case_services.complaint_start_investigation(actor=worker, complaint=case)
    with time_machine.travel(dt.datetime(2026, 12, 7, 11, 0, tzinfo=LONDON), tick=False):
        request = case_services.complaint_request_information(actor=worker, complaint=case, message="Which site?")
    question = OutboundMessage.objects.get(kind="information_request", complaint=case)
    case.question_message_id = deliver(question)
    case.request = request
    return case


def test_a_reply_to_our_question_from_the_case_address_is_the_answer_and_the_clock_resumes(waiting_case):
    reply = mail.plain(
        subject=f"Re: A question about your complaint {waiting_case.reference}",
        body="It was the Marlow site.\n\nOn Mon, 7 Dec 2026 we wrote:\n> Which site?",
        message_id="<answer.1@example.com>",
        in_reply_to=waiting_case.question_message_id,
        attachments=[("site-map.pdf", mail.PDF, "application/pdf")],
    )

    email = receive(reply)

    assert (email.state, email.outcome, email.complaint) == (State.DONE, Outcome.CLIENT_ANSWER, waiting_case)
    waiting_case.refresh_from_db()
    assert waiting_case.status == Complaint.Status.INVESTIGATING
    # Asked Monday 7th, answered Wednesday 9th: two business days waited, added to the 18th.
    assert waiting_case.outcome_due == dt.date(2026, 12, 22)
    request = InformationRequest.objects.get(pk=waiting_case.request.pk)
    assert request.answer == "It was the Marlow site."  # the quoted question left out
    assert request.answered_at == ARRIVED
    assert waiting_case.attachments.get().original_name == "site-map.pdf"
    assert waiting_case.events.filter(kind="client_replied", summary__contains="by email").exists()


def test_a_reply_found_by_the_reference_in_its_subject_joins_the_case_as_a_message():
    case = AcknowledgedComplaintFactory(
        email="ada@example.com", status=Complaint.Status.INVESTIGATING, assignee=manager(email="mo@jpditservices.com")
    )
    email = receive(mail.plain(subject=f"More about {case.reference}", body="One more thing.", message_id="<m@x>"))

    assert (email.state, email.outcome, email.complaint) == (State.DONE, Outcome.CLIENT_MESSAGE, case)
    message = ClientMessage.objects.get(complaint=case)
    assert (message.text, message.channel, message.received_at) == ("One more thing.", "email", ARRIVED)
    case.refresh_from_db()
    assert case.status == Complaint.Status.INVESTIGATING  # no clock changed
    assert OutboundMessage.objects.filter(complaint=case, kind="staff_client_reply").exists()


def test_a_reference_from_another_address_never_attaches_anything_to_the_case():
    case = AcknowledgedComplaintFactory(email="ada@example.com", status=Complaint.Status.INVESTIGATING)
    email = receive(mail.from_stranger_quoting(case.reference))

    assert email.state == State.WAITING
    assert "another address" in email.reason
    assert not ClientMessage.objects.exists()
    assert not case.attachments.exists()
    assert Complaint.objects.count() == 1  # nor a new complaint


def test_a_reply_naming_a_forged_case_token_is_not_taken_for_a_reply(waiting_case):
    other = AcknowledgedComplaintFactory(email="ada@example.com", status=Complaint.Status.INVESTIGATING)
    forged = waiting_case.question_message_id.replace(waiting_case.public_id.hex, other.public_id.hex)
    email = receive(mail.plain(in_reply_to=forged, message_id="<forged@example.com>", subject="Re: your email"))
    # Not a reply to anything of ours (its token does not verify, no email of ours has that ID): a new complaint.
    assert email.outcome == Outcome.NEW_COMPLAINT
    assert email.complaint not in (waiting_case, other)


# --- Appeals --------------------------------------------------------------------------------


def test_an_appeal_by_email_from_the_case_address_within_the_window_is_lodged_and_acknowledged():
    with time_machine.travel(dt.datetime(2026, 12, 3, 10, 0, tzinfo=LONDON), tick=False):
        case = responded(email="ada@example.com")
    raw = mail.plain(
        to=mail.APPEALS,
        subject=f"Appeal: {case.reference}",
        body="I disagree: the engineer never came, whatever the log says.",
        message_id="<appeal.1@example.com>",
    )

    email = receive(raw, Mailbox.APPEALS)

    assert (email.state, email.outcome) == (State.DONE, Outcome.APPEAL)
    appeal = Appeal.objects.get(complaint=case)
    assert (appeal.channel, appeal.received_at) == (Appeal.Channel.EMAIL, ARRIVED)
    assert appeal.reasons == "I disagree: the engineer never came, whatever the log says."
    assert sent_to(case, "appeal_acknowledgement").to_email == "ada@example.com"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no_reference", "no valid reference"),
        ("stranger", "another address"),
        ("out_of_window", "time to appeal ended"),
        ("already_appealed", "already been made"),
    ],
)
def test_an_appeal_that_cannot_be_lodged_waits_for_a_lead_with_the_reason(setup, reason):
    with time_machine.travel(dt.datetime(2026, 10, 1, 10, 0, tzinfo=LONDON) if setup == "out_of_window" else ARRIVED):
        case = responded(email="ada@example.com")
    if setup == "already_appealed":
        with transaction.atomic():
            case_services.record_event(case, kind="note_added", summary="-")
        from appeals.services import appeal_lodge

        appeal_lodge(complaint=case, reasons="Earlier appeal.")
    raw = mail.plain(
        sender="Mallory <mallory@evil.example>" if setup == "stranger" else "Ada Lovelace <ada@example.com>",
        to=mail.APPEALS,
        subject="Appeal" if setup == "no_reference" else f"Appeal {case.reference}",
        body="I appeal.",
        message_id=f"<appeal.{setup}@example.com>",
    )

    email = receive(raw, Mailbox.APPEALS)

    assert email.state == State.WAITING
    assert reason in email.reason
    assert Appeal.objects.filter(complaint=case).count() == (1 if setup == "already_appealed" else 0)


# --- Automatic messages, loops and bounces ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [mail.outlook_out_of_office(), mail.gmail_vacation(), mail.mailing_list()], ids=["oof", "vacation", "list"]
)
def test_an_automatic_message_is_kept_and_listed_never_answered_never_a_case(raw):
    email = receive(raw)
    assert email.state == State.AUTOMATIC
    assert email.reason.startswith("Automatic message")
    assert not Complaint.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_a_bounce_marks_the_email_it_reports_undelivered_and_tells_staff_on_the_case():
    case = AcknowledgedComplaintFactory(email="ada@example.com", status=Complaint.Status.INVESTIGATING)
    sent = OutboundMessage.objects.create(
        dedupe_key="t:1", kind="client_link", to_email="ada@example.com", complaint=case, context={}
    )
    message_id = deliver(sent)

    email = receive(mail.bounce(original_message_id=message_id))

    assert (email.state, email.outcome, email.complaint) == (State.DONE, Outcome.BOUNCE, case)
    sent.refresh_from_db()
    assert (sent.state, sent.bounce_status) == (OutboundMessage.State.BOUNCED, "5.1.1")
    event = case.events.get(kind="email_bounced")
    assert "was not delivered (5.1.1)" in event.summary
    assert not event.client_visible


def test_a_delay_report_is_no_bounce():
    email = receive(mail.bounce(original_message_id="<x@jpditservices.com>", action="delayed", status="4.4.1"))
    assert email.state == State.AUTOMATIC


def test_a_message_flagged_as_spam_waits_for_a_lead():
    email = receive(mail.plain(headers={"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=9.1"}))
    assert (email.state, email.reason) == (State.WAITING, "Flagged as spam by the mail server.")
    assert not Complaint.objects.exists()


# --- Hostile and broken mail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "words"),
    [
        (mail.latin1(), "Renée Müller", "Grüße: die Rechnung für Dezember ist falsch"),
        (mail.undeclared_8bit(), "Zoé Smith", "The invoice says “paid” but it is not \u2013 please check."),
        (mail.html_only(), "Bob Hughes", "You charged me twice for one call-out.\n\nPlease refund £95."),
    ],
    ids=["latin-1", "undeclared-8bit", "html-only"],
)
def test_any_charset_or_html_only_is_read_as_plain_text(raw, name, words):
    email = receive(raw)
    complaint = email.complaint
    assert email.outcome == Outcome.NEW_COMPLAINT
    assert complaint.name == name
    assert words in complaint.description
    assert "<" not in complaint.description
    assert "alert" not in complaint.description


def test_a_forwarded_message_inside_is_kept_whole_as_a_document():
    email = receive(mail.forwarded_inside())
    [document] = email.complaint.attachments.all()
    assert document.original_name == "Visit booked.eml"
    assert b"Your visit is booked for Tuesday 9am." in document.file.read()


def test_refused_attachments_are_recorded_with_their_reasons_and_the_rest_kept(settings):
    settings.INTAKE_MAX_FILE_BYTES = 50_000
    big = receive(mail.with_oversized_attachment(60_000))
    assert big.outcome == Outcome.NEW_COMPLAINT
    assert [part["name"] for part in big.refused_parts] == ["huge.pdf"]
    assert "at most" in big.refused_parts[0]["reason"]

    disguised = receive(mail.with_disguised_executable().replace(b"ada@example.com", b"eve@example.com"))
    assert [part["name"] for part in disguised.refused_parts] == ["invoice.pdf"]
    assert [a.original_name for a in disguised.complaint.attachments.all()] == ["report.pdf"]


def test_a_message_that_cannot_be_read_is_quarantined_and_the_next_one_is_read():
    garbage, _ = services.email_store(
        raw=b"\x00\xff" * 50, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="pipe"
    )
    # Broken past reading: make parsing itself fail for this one.
    from inbound import parsing

    real_parse = parsing.parse

    def fail_for_garbage(raw):
        if raw.startswith(b"\x00\xff"):
            raise UnicodeError("unreadable")
        return real_parse(raw)

    parsing.parse = fail_for_garbage
    try:
        services.email_process(garbage.pk)
    finally:
        parsing.parse = real_parse
    fine = receive(mail.plain())

    garbage.refresh_from_db()
    assert (garbage.state, garbage.quarantined) == (State.WAITING, True)
    assert "UnicodeError" in garbage.reason
    assert garbage.raw.read() == b"\x00\xff" * 50  # kept as evidence
    assert fine.outcome == Outcome.NEW_COMPLAINT


# --- What we run on failing: the message waits, never quarantined for it ------------------------


def stored(raw: bytes) -> InboundEmail:
    """Kept as the reader keeps it, its task not run yet."""
    email, _created = services.email_store(raw=raw, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="pipe")
    return email


def test_the_database_failing_while_a_message_is_read_leaves_it_stored_for_the_sweep(monkeypatch):
    email = stored(mail.plain())

    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_case_named", database_gone)
    with pytest.raises(OperationalError):
        services.email_process(email.pk)
    email.refresh_from_db()
    assert (email.state, email.quarantined) == (State.STORED, False)

    monkeypatch.undo()  # the database is back
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=10), tick=False):
        assert services.emails_process_stored() == 1
    email.refresh_from_db()
    assert (email.state, email.outcome, email.quarantined) == (State.DONE, Outcome.NEW_COMPLAINT, False)


def test_the_sweep_leaves_a_message_just_stored_to_its_own_task():
    email = stored(mail.plain())
    assert services.emails_process_stored() == 0
    email.refresh_from_db()
    assert email.state == State.STORED
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=10), tick=False):
        assert services.emails_process_stored() == 1


def test_a_message_whose_file_cannot_be_read_does_not_stop_the_sweep_reading_the_others():
    lost = stored(mail.plain(message_id="<lost@example.com>", body="The first one."))
    lost.raw.storage.delete(lost.raw.name)
    fine = stored(mail.plain(sender="Bob <bob@example.com>", message_id="<fine@example.com>"))
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=10), tick=False):
        assert services.emails_process_stored() == 1
    lost.refresh_from_db()
    fine.refresh_from_db()
    assert (lost.state, lost.quarantined) == (State.STORED, False)  # read again once its file is back
    assert fine.outcome == Outcome.NEW_COMPLAINT
