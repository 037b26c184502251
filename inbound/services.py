"""Email in: store every message first, then decide once what it is (SPEC: the email channel).

``email_store`` keeps the raw message (an .eml in private storage, its SHA-256, Message-ID,
mailbox and the time our own server received it) under a unique key, before anything else, and
queues its reading when that commits. Storing the same message again (a second fetch, a reader
killed before it moved the message to Processed) finds the row and stores nothing.

``email_process`` reads a stored message and decides, in this order:

1. a message sent to both mailboxes is read once, from complaints@: the appeals@ copy is a duplicate
   (it waits two minutes for the complaints@ copy to arrive; ``_copy_in_the_other_mailbox``);
2. a delivery report naming one of our emails → that email marked bounced, staff told on the case;
3. a message no person wrote (auto-reply, list, bounce: ``parsing.automatic_reason``) → kept and
   listed, never answered, never a case;
4. flagged as spam by the mail server → waits for a complaints lead (who may release it);
5. a reply to one of our emails (In-Reply-To or References naming it), or else a subject quoting a
   valid reference, from the case's own address → on complaints@, the client's answer to our open
   question (the clock resumes) or a message on the case; on appeals@, the appeal, if the window
   is open; from any other address → waits for a lead ("a reference from a stranger");
6. otherwise, to complaints@, a new complaint (channel email, received when our server received it,
   acknowledged by email), at most one a day per sender (the next ones wait for a lead: a mail loop
   must not make cases, nor acknowledgements); to appeals@, it waits for a lead.

Whatever it becomes is written in one transaction with the row (its documents stored just before),
so a message becomes one thing, once, whatever crashes when. A message that cannot be read at all
is quarantined with its error; the next one is read as usual.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from appeals import services as appeal_services
from cases import business_days, references
from cases import services as case_services
from cases.models import ClientMessage, Complaint, ComplaintEvent
from cases.services import ComplaintDetails, StoredDocument, documents_stored
from cases.uploads import ValidatedUpload, validate_upload
from inbound import parsing
from inbound.models import InboundEmail, Mailbox
from jpdit_complaints.celery import app as celery_app
from jpdit_complaints.storage import STORAGE_UNAVAILABLE, private_storage
from notifications import threading
from notifications.models import OutboundMessage
from notifications.services import message_bounced

logger = logging.getLogger(__name__)

State = InboundEmail.State
Outcome = InboundEmail.Outcome
# The largest message we keep whole (a mail server refuses far smaller ones): larger is quarantined unread.
MAX_RAW_BYTES = 50 * 1024 * 1024
# Failures of what we run on, not of the message (the database restarting, the disk, its mount or the object
# store gone):
# reading the message waits for them to pass, and never quarantines it for them.
UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, *STORAGE_UNAVAILABLE)


# --- Storing --------------------------------------------------------------------------------


def email_key(mailbox: str, message_id: str, sha256: str) -> str:
    """The message's unique key: its mailbox and Message-ID, or its SHA-256 when it has none."""
    identity = f"id:{message_id.strip().lower()}" if message_id.strip() else f"sha256:{sha256}"
    return f"{mailbox}:{identity}"[:300]


def email_store(*, raw: bytes, mailbox: str, arrived_at: datetime, source: str) -> tuple[InboundEmail, bool]:
    """Keep a message that reached ``mailbox``, exactly once; returns (its row, whether it is new).

    The raw file is written first, under its hash (writing it again writes the same file), then the
    row is inserted under the message's key; a key already there means it was stored before. Reading
    it is queued once the row commits.
    """
    if mailbox not in Mailbox.values:
        raise ValueError(f"Unknown mailbox {mailbox!r}")
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        message_id = parsing.parse_headers(raw).message_id
    except Exception:  # noqa: BLE001 - unreadable headers: the hash identifies it; processing quarantines it
        message_id = ""
    key = email_key(mailbox, message_id, sha256)
    existing = InboundEmail.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    storage = private_storage()
    name = f"inbound/{mailbox}/{sha256}.eml"
    if not storage.exists(name):
        name = storage.save(name, ContentFile(raw), max_length=255)
    try:
        with transaction.atomic():
            email = InboundEmail.objects.create(
                key=key,
                mailbox=mailbox,
                source=source,
                raw=name,
                sha256=sha256,
                size=len(raw),
                arrived_at=arrived_at,
                message_id=message_id[:250],
            )
            transaction.on_commit(partial(enqueue_processing, email.pk))
    except IntegrityError:  # stored a moment ago by another reader
        existing = InboundEmail.objects.get(key=key)
        if existing.raw.name != name:
            storage.delete(name)  # our copy of its file, under another name: only the row's is kept
        return existing, False
    return email, True


def email_refused(
    *, mailbox: str, identity: str, arrived_at: datetime, source: str, size: int, why: str
) -> InboundEmail:
    """A message the reader could not keep (too large, refused by the database): listed for a lead, once.

    Nothing of it is stored here (it stays in the mailbox's Quarantine folder); the row says what
    happened and when, so that a person deals with it within the acknowledgement deadline like any
    message waiting for them. ``identity`` names it where it is (``imap:<uidvalidity>:<uid>``, the
    file's name, or its SHA-256): recording the same one again finds the row.
    """
    email, _created = InboundEmail.objects.get_or_create(
        key=f"{mailbox}:refused:{identity}"[:300],
        defaults={
            "mailbox": mailbox,
            "source": source,
            "raw": "",
            "sha256": "",
            "size": size,
            "arrived_at": arrived_at,
            "state": State.WAITING,
            "quarantined": True,
            "reason": (
                f"{why} Nothing of it could be kept here: it is in the mailbox's "
                f"{settings.INBOUND_QUARANTINE_FOLDER} folder, for the mail administrator."
            )[:300],
            "processed_at": timezone.now(),
            "acknowledgement_due": business_days.due_date(arrived_at, settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS),
        },
    )
    return email


# Named, not imported: the task module imports this one (tests check the name against the task).
PROCESS_TASK = "inbound.tasks.process_email"


def enqueue_processing(email_id: int) -> bool:
    """Ask a worker to read a stored message; never raises (the sweep of stored messages is the safety net)."""
    try:
        celery_app.send_task(PROCESS_TASK, args=[email_id], retry=False)
    except Exception as error:  # noqa: BLE001 - broker down: emails_process_stored picks it up
        logger.warning("Broker unavailable (%s); inbound email %s left for the sweep", type(error).__name__, email_id)
        return False
    return True


# --- Deciding what a message is --------------------------------------------------------------


@dataclass
class Reading:
    """A stored message as read: what it says, its documents checked, and what it is to become."""

    email: InboundEmail
    parsed: parsing.ParsedEmail
    uploads: list[ValidatedUpload] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    case: Complaint | None = None
    # "new_complaint", "client_message", "appeal", "bounce", "automatic", "duplicate", "waiting",
    # "wait_for_copy" (left stored a moment: ``_copy_in_the_other_mailbox``)
    becomes: str = ""
    reason: str = ""


def email_process(email_id: int) -> str:
    """Read a stored message and make it what it is, once (see the module's doc). Returns its new state.

    The database or the storage unavailable (``UNAVAILABLE``) is raised: the message stays stored and
    is read again (the sweep of stored messages). Anything else going wrong is the message's own
    problem: it is quarantined for a lead, and the next one is read.
    """
    email = InboundEmail.objects.filter(pk=email_id).first()
    if email is None or email.state != State.STORED:
        return email.state if email is not None else "missing"
    try:
        with email.raw.open("rb") as handle:
            raw = handle.read()
        reading = _read(email, raw)
        return _apply(reading)
    except UNAVAILABLE:
        raise
    except Exception as error:  # noqa: BLE001 - one message that cannot be read never stops the others
        logger.warning("Inbound email %s quarantined (%s)", email_id, type(error).__name__)
        return _quarantine(email_id, f"Could not be read: {type(error).__name__}")


def _read(email: InboundEmail, raw: bytes) -> Reading:
    if len(raw) > MAX_RAW_BYTES:
        raise ValueError("message too large")
    parsed = parsing.parse(raw)
    reading = Reading(email=email, parsed=parsed)
    _decide(reading)
    if reading.becomes in ("new_complaint", "client_message", "appeal"):
        _check_documents(reading)
    return reading


def _decide(reading: Reading) -> None:
    email, parsed = reading.email, reading.parsed
    copy = _copy_in_the_other_mailbox(reading)
    if copy:
        reading.becomes, reading.reason = copy
        return
    if parsed.is_report and parsed.reported_message_ids and parsed.report_action in ("failed", ""):
        reading.becomes = "bounce"
        return
    if parsed.automatic and not email.released:
        reading.becomes, reading.reason = "automatic", f"Automatic message: {parsed.automatic}"
        return
    if parsed.spam and not email.released:
        reading.becomes, reading.reason = "waiting", "Flagged as spam by the mail server."
        return
    case, how = _case_named(parsed)
    if case is not None:
        _decide_for_case(reading, case, how)
        return
    if email.mailbox == Mailbox.APPEALS:
        reading.becomes = "waiting"
        reading.reason = "An appeal with no valid reference of a complaint (or one we cannot find)."
        return
    if _had_a_new_complaint_today(parsed.from_address, email):
        reading.becomes = "waiting"
        reading.reason = (
            "A second new complaint from this address today: not acknowledged automatically, "
            "in case it is a mail loop. Open it as a complaint if it is one."
        )
        return
    if not parsed.from_address or "@" not in parsed.from_address:
        reading.becomes, reading.reason = "waiting", "No sender address we could read."
        return
    reading.becomes = "new_complaint"


def _copy_in_the_other_mailbox(reading: Reading) -> tuple[str, str] | None:
    """A message sent to both complaints@ and appeals@ is read once, from complaints@, whichever
    mailbox's reader stored it first: (what this copy becomes, why), or None to read this copy.

    The appeals@ copy of a message that names complaints@ too waits (``INBOUND_SWEEP_GRACE_SECONDS``) for the
    complaints@ copy, then is a duplicate of it; if none comes within that time, the appeals@ copy is
    read, and a complaints@ copy that comes after it is then the duplicate.
    """
    email, parsed = reading.email, reading.parsed
    if not parsed.message_id:
        return None
    copies = InboundEmail.objects.filter(message_id=parsed.message_id).exclude(mailbox=email.mailbox)
    if email.mailbox == Mailbox.APPEALS:
        if copies.exists():
            return "duplicate", "The same message reached complaints@ too, and is read from there."
        addressed_to_complaints = str(settings.COMPANY["complaints_email"]).lower() in parsed.to
        if addressed_to_complaints and timezone.now() - email.created_at < _sweep_grace():
            return "wait_for_copy", ""
        return None
    if copies.exclude(state__in=[State.STORED, State.DUPLICATE]).exists():
        return "duplicate", "The same message reached appeals@ too, and was read from there first."
    return None


def _decide_for_case(reading: Reading, named: Complaint, how: str) -> None:
    email, parsed = reading.email, reading.parsed
    # A duplicate merged into another case: what its client writes joins the main case (``Complaint.main_case``).
    case = named.main_case
    if case is not named:
        how = f"{how}; {named.reference} was merged into {case.reference}"
    reading.case = case
    # The client, or the representative acting for them with their consent, may write about the case (of a
    # merged duplicate, from its own addresses too: a complaints lead merged it as the same client's).
    senders = {
        address.strip().lower()
        for address in (case.email, case.representative_email, named.email, named.representative_email)
        if address
    }
    if parsed.from_address not in senders:
        reading.becomes = "waiting"
        reading.reason = (
            f"Names case {case.reference} ({how}) but comes from another address than the case's: "
            "nothing was added to the case."
        )
        return
    if case.anonymised_at is not None:
        reading.becomes, reading.reason = "waiting", f"About case {case.reference}, whose personal data was removed."
        return
    if email.mailbox == Mailbox.APPEALS:
        problem = case.appeal_problem(at=email.arrived_at)
        if problem:
            reading.becomes = "waiting"
            reading.reason = f"An appeal on {case.reference} that cannot be lodged: {problem}"
        else:
            reading.becomes = "appeal"
        return
    if not (case.is_open or case.status == Complaint.Status.UNDER_APPEAL):
        reading.becomes = "waiting"
        reading.reason = f"A reply about case {case.reference}, which is {case.get_status_display().lower()}."
        return
    reading.becomes = "client_message"


def _case_named(parsed: parsing.ParsedEmail) -> tuple[Complaint | None, str]:
    """The case a message is about: by the emails of ours it answers, else by a valid reference in its subject."""
    answered = [*parsed.in_reply_to, *reversed(parsed.references)]
    for value in answered:
        public_id = threading.case_public_id(value)
        if public_id is not None:
            case = Complaint.objects.filter(public_id=uuid.UUID(public_id)).first()
            if case is not None:
                return case, "a reply to one of our emails"
    if answered:
        sent = (
            OutboundMessage.objects.filter(message_id__in=[f"<{value}>" for value in answered], complaint__isnull=False)
            .select_related("complaint")
            .first()
        )
        if sent is not None:
            return sent.complaint, "a reply to one of our emails"
    for reference in references.references_in(parsed.subject):
        case = Complaint.objects.filter(reference=str(reference)).first()
        if case is not None:
            return case, f"its subject quotes {case.reference}"
    return None, ""


def _had_a_new_complaint_today(sender: str, email: InboundEmail) -> bool:
    """Did a message from ``sender`` already become a new complaint on this London day (so was acknowledged)?"""
    day = business_days.london_date(email.arrived_at)
    return (
        InboundEmail.objects.filter(
            from_address=sender,
            outcome=Outcome.NEW_COMPLAINT,
            arrived_at__gte=business_days.start_of_london_day(day),
            arrived_at__lt=business_days.start_of_london_day(day + timedelta(days=1)),
        )
        .exclude(pk=email.pk)
        .exists()
    )


def _check_documents(reading: Reading) -> None:
    """The attachments, checked as web uploads are (type by content, size, count); refused ones recorded."""
    for part in reading.parsed.parts:
        if len(reading.uploads) >= settings.INTAKE_MAX_FILES:
            reading.refused.append({"name": part.name, "reason": f"More than {settings.INTAKE_MAX_FILES} files."})
            continue
        try:
            upload = validate_upload(SimpleUploadedFile(part.name, part.data, part.content_type))
        except ValidationError as refusal:
            reading.refused.append({"name": part.name, "reason": " ".join(refusal.messages)[:300]})
        else:
            reading.uploads.append(upload)


# --- Making it what it is ------------------------------------------------------------------------


def _apply(reading: Reading) -> str:
    handlers = {
        "new_complaint": _new_complaint,
        "client_message": _client_message,
        "appeal": _appeal,
    }
    handler = handlers.get(reading.becomes)
    if handler is None:
        return _settle(reading)
    public_id = reading.case.public_id if reading.case is not None else uuid.uuid4()
    try:
        with documents_stored(reading.uploads, public_id=public_id) as documents, transaction.atomic(durable=True):
            email = _locked(reading.email.pk)
            if email is None:
                return State.STORED  # another worker dealt with it meanwhile
            handler(reading, email, documents, public_id)
            return email.state
    except ValidationError as refusal:  # the case moved on meanwhile (an appeal window closed...)
        reading.becomes, reading.reason = "waiting", " ".join(refusal.messages)[:300]
        return _settle(reading)


def _locked(email_id: int) -> InboundEmail | None:
    """The row, locked, if it is still waiting to be read."""
    return InboundEmail.objects.select_for_update().filter(pk=email_id, state=State.STORED).first()


def _finish(email: InboundEmail, reading: Reading, *, state: str, outcome: str = "", case=None) -> None:
    email.state = state
    email.outcome = outcome
    email.reason = reading.reason[:300]
    email.complaint = case if case is not None else reading.case
    email.from_address = reading.parsed.from_address
    email.from_name = reading.parsed.from_name
    email.subject = reading.parsed.subject
    email.refused_parts = reading.refused
    email.processed_at = timezone.now()
    if state == State.WAITING:
        email.acknowledgement_due = business_days.due_date(email.arrived_at, settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS)
    email.save()


def _new_complaint(reading: Reading, email: InboundEmail, documents: list[StoredDocument], public_id) -> None:
    parsed = reading.parsed
    description = "\n\n".join(part for part in (parsed.subject, parsed.text) if part) or "(an email with no text)"
    details = ComplaintDetails(
        name=parsed.from_name or parsed.from_address.partition("@")[0],
        email=parsed.from_address,
        description=description[:20_000],
    )
    complaint = case_services.complaint_record_email(
        details=details, received_at=email.arrived_at, documents=documents, public_id=public_id
    )
    _finish(email, reading, state=State.DONE, outcome=Outcome.NEW_COMPLAINT, case=complaint)


def _client_message(reading: Reading, email: InboundEmail, documents: list[StoredDocument], public_id) -> None:
    written = case_services.client_wrote_by_email(
        complaint=_case(reading),
        text=parsing.without_quoted_reply(reading.parsed.text),
        documents=documents,
        received_at=email.arrived_at,
        from_address=reading.parsed.from_address,
    )
    outcome = Outcome.CLIENT_MESSAGE if isinstance(written, ClientMessage) else Outcome.CLIENT_ANSWER
    _finish(email, reading, state=State.DONE, outcome=outcome)


def _appeal(reading: Reading, email: InboundEmail, documents: list[StoredDocument], public_id) -> None:
    parsed = reading.parsed
    appeal_services.appeal_record_email(
        complaint=_case(reading),
        reasons=parsing.without_quoted_reply(parsed.text) or parsed.subject,
        received_at=email.arrived_at,
        documents=documents,
    )
    _finish(email, reading, state=State.DONE, outcome=Outcome.APPEAL)


def _case(reading: Reading) -> Complaint:
    if reading.case is None:  # _decide sets the case of whatever joins one
        raise ValueError("A message to add to a case names no case.")
    return reading.case


def _settle(reading: Reading) -> str:
    """A message that makes no case: a bounce, an automatic one, a duplicate, or one waiting for a lead."""
    parsed = reading.parsed
    with transaction.atomic():
        email = _locked(reading.email.pk)
        if email is None:
            return State.STORED
        if reading.becomes == "bounce":
            sent = message_bounced(
                message_ids=parsed.reported_message_ids, status=parsed.report_status, at=email.arrived_at
            )
            if sent is None or sent.complaint_id is None:
                reading.reason = "A delivery report about an email we cannot find."
                _finish(email, reading, state=State.AUTOMATIC)
                return email.state
            ComplaintEvent.objects.record(
                sent.complaint,
                kind=ComplaintEvent.Kind.EMAIL_BOUNCED,
                summary=f"Our email '{sent.get_kind_display()}' to {sent.to_email} was not delivered "
                f"({parsed.report_status or 'no status given'}): reach the client another way",
                at=email.arrived_at,
            )
            _finish(email, reading, state=State.DONE, outcome=Outcome.BOUNCE, case=sent.complaint)
        elif reading.becomes == "automatic":
            _finish(email, reading, state=State.AUTOMATIC)
        elif reading.becomes == "duplicate":
            _finish(email, reading, state=State.DUPLICATE)
        elif reading.becomes == "wait_for_copy":
            return State.STORED  # left as it is, for the sweep once its copy to complaints@ had time to come
        else:
            _finish(email, reading, state=State.WAITING)
        return email.state


def _quarantine(email_id: int, error: str) -> str:
    with transaction.atomic():
        email = _locked(email_id)
        if email is None:
            return State.STORED
        email.state = State.WAITING
        email.quarantined = True
        email.reason = error[:300]
        email.processed_at = timezone.now()
        email.acknowledgement_due = business_days.due_date(email.arrived_at, settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS)
        email.save()
    return State.WAITING


def _sweep_grace() -> timedelta:
    """A message stored this recently has its own task queued: the sweep leaves it to that task."""
    return timedelta(seconds=settings.INBOUND_SWEEP_GRACE_SECONDS)


def emails_process_stored(*, limit: int = 500) -> int:
    """The safety net: read every message still stored a while after it was (its task lost to a broker
    outage, or its reading stopped by the database or the disk). Returns how many."""
    done = 0
    stored = InboundEmail.objects.filter(state=State.STORED, created_at__lt=timezone.now() - _sweep_grace())
    for email_id in stored.order_by("pk").values_list("pk", flat=True)[:limit]:
        try:
            email_process(email_id)
        except UNAVAILABLE as error:  # this one's file, say: logged, and the others still read
            logger.warning("Inbound email %s left stored for now (%s)", email_id, type(error).__name__)
            continue
        done += 1
    return done


# --- The complaints leads' queue: what a person decides ------------------------------------------
#
# Each action takes a message still waiting (WAITING), re-reads its documents from the raw
# message, and writes what it becomes with the row in one transaction, so two leads acting at
# once make one thing: the second finds it handled.


class AlreadyHandled(Exception):
    """The message is no longer waiting: another lead dealt with it first."""


def _can_handle(actor) -> None:
    if not actor.has_perm("inbound.handle_inboundemail"):
        raise PermissionDenied("Only complaints leads deal with emails waiting for a person.")


def _read_documents(email: InboundEmail) -> Reading:
    """The message read again, its documents checked; for one quarantined, what its row knows, no documents."""
    if email.quarantined:
        parsed = parsing.unread(from_address=email.from_address, from_name=email.from_name, subject=email.subject)
        return Reading(email=email, parsed=parsed)
    with email.raw.open("rb") as handle:
        reading = Reading(email=email, parsed=parsing.parse(handle.read()))
    _check_documents(reading)
    return reading


def _take(email: InboundEmail) -> InboundEmail:
    """The row locked, if it still waits for a person; else AlreadyHandled."""
    locked = InboundEmail.objects.select_for_update().filter(pk=email.pk, state=State.WAITING).first()
    if locked is None:
        raise AlreadyHandled(f"Email {email.pk} was dealt with by someone else meanwhile.")
    return locked


def _handled(email: InboundEmail, *, actor, outcome: str, note: str = "", case=None) -> None:
    email.state = State.HANDLED
    email.outcome = outcome
    email.complaint = case if case is not None else email.complaint
    email.handled_by = actor
    email.handled_at = timezone.now()
    email.handled_note = note
    email.save()


def email_open_as_complaint(*, actor, email: InboundEmail, details: ComplaintDetails) -> Complaint:
    """A lead opens a waiting email as a complaint: received when our server received it, acknowledged by email."""
    _can_handle(actor)
    reading = _read_documents(email)
    public_id = uuid.uuid4()
    with documents_stored(reading.uploads, public_id=public_id) as documents, transaction.atomic(durable=True):
        locked = _take(email)
        complaint = case_services.complaint_record_email(
            details=details, received_at=locked.arrived_at, documents=documents, public_id=public_id, opened_by=actor
        )
        _handled(locked, actor=actor, outcome=Outcome.NEW_COMPLAINT, case=complaint)
    return complaint


def email_attach_to_case(*, actor, email: InboundEmail, reference: str) -> Complaint:
    """A lead adds a waiting email to a case, having checked who sent it: a message, or the answer to our question."""
    _can_handle(actor)
    case = _case_by_reference(reference)
    reading = _read_documents(email)
    with documents_stored(reading.uploads, public_id=case.public_id) as documents, transaction.atomic(durable=True):
        locked = _take(email)
        written = case_services.client_wrote_by_email(
            complaint=case,
            text=parsing.without_quoted_reply(reading.parsed.text),
            documents=documents,
            received_at=locked.arrived_at,
            from_address=reading.parsed.from_address,
            attached_by=actor,
        )
        outcome = Outcome.CLIENT_MESSAGE if isinstance(written, ClientMessage) else Outcome.CLIENT_ANSWER
        _handled(locked, actor=actor, outcome=outcome, case=case)
    return case


def email_log_as_appeal(*, actor, email: InboundEmail, reference: str, late_reason: str = "") -> Complaint:
    """A lead logs a waiting email as the appeal on a case (a late one with the reason it is accepted)."""
    _can_handle(actor)
    case = _case_by_reference(reference)
    reading = _read_documents(email)
    with documents_stored(reading.uploads, public_id=case.public_id) as documents, transaction.atomic(durable=True):
        locked = _take(email)
        appeal_services.appeal_record_email(
            complaint=case,
            reasons=parsing.without_quoted_reply(reading.parsed.text) or reading.parsed.subject,
            received_at=locked.arrived_at,
            documents=documents,
            logged_by=actor,
            late_reason=late_reason,
        )
        _handled(locked, actor=actor, outcome=Outcome.APPEAL, case=case)
    return case


def email_mark_not_a_complaint(*, actor, email: InboundEmail, reason: str) -> InboundEmail:
    """A lead decides a waiting email is no complaint (an enquiry, spam, a duplicate): kept, with the reason.

    The sender is told nothing automatically.
    """
    _can_handle(actor)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why this is not a complaint (an enquiry, spam, a duplicate of ...)."]})
    with transaction.atomic():
        locked = _take(email)
        _handled(locked, actor=actor, outcome=Outcome.NOT_A_COMPLAINT, note=reason)
    return locked


def email_release(*, actor, email: InboundEmail) -> str:
    """A lead releases a message held as spam, as automatic, or quarantined: it is read again as a person's."""
    _can_handle(actor)
    with transaction.atomic():
        locked = (
            InboundEmail.objects.select_for_update()
            .filter(pk=email.pk, state__in=[State.WAITING, State.AUTOMATIC])
            .first()
        )
        if locked is None:
            raise AlreadyHandled(f"Email {email.pk} was dealt with by someone else meanwhile.")
        if not locked.raw:
            raise ValidationError("Nothing of this message was kept, so there is nothing to read again.")
        locked.state = State.STORED
        locked.released = True
        locked.quarantined = False
        locked.handled_by = actor
        locked.handled_at = timezone.now()
        locked.save()
    return email_process(email.pk)


def _case_by_reference(reference: str) -> Complaint:
    parsed = references.parse_reference(reference)
    case = Complaint.objects.filter(reference=str(parsed)).first() if parsed is not None else None
    if case is None:
        raise ValidationError({"reference": [f"No case {reference.strip()[:30]}: check the reference and its letter."]})
    # A duplicate merged into another case stands for that main case.
    return case.main_case
