"""Complaint workflows: each one a keyword-only function that owns its transaction.

The model (``Complaint.transition_to``) guards the state rule; these functions
lock the row, check who may act, save, record the event and queue the messages,
all in one transaction. Views, admin actions and tasks call them and nothing else.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import User

from cases import business_days, deadlines, permissions, webhooks
from cases.models import (  # noqa: F401 - how the timeline names them; imported from here too
    CLIENT,
    SYSTEM,
    Action,
    Attachment,
    ClientMessage,
    ClientUpdate,
    Complaint,
    ComplaintEvent,
    Deadline,
    Extension,
    InformationRequest,
    Note,
    ReferenceCounter,
    RelatedComplaint,
    RootCause,
    TransitionNotAllowed,
    actor_label,
    attachment_path_for,
)
from cases.references import format_reference
from cases.uploads import ValidatedUpload
from jpdit_complaints.storage import STORAGE_UNAVAILABLE, private_storage
from notifications import letters
from notifications.models import Letter, OutboundMessage
from notifications.rendering import render_pdf
from notifications.services import message_queue

logger = logging.getLogger(__name__)

Status = Complaint.Status
Event = ComplaintEvent.Kind

# The letters this app issues (registered with their renderers in cases/letters.py).
ACKNOWLEDGEMENT_LETTER = "acknowledgement"
OUTCOME_LETTER = "outcome"
# A client may ask for a fresh link at most once in this period (no mail bombing).
FRESH_LINK_INTERVAL = timedelta(minutes=10)


@dataclass(frozen=True)
class RepresentativeDetails:
    """Someone complaining on the client's behalf, the client's consent, and who receives the correspondence.

    ``problems()`` is the one statement of what a usable record needs: both intake forms and the staff case
    page show its messages against their fields (named as here) and the services refuse what it refuses.
    """

    name: str = ""
    relationship: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    consent_note: str = ""
    consent_given_on: date | None = None
    consent_document_id: int | None = None
    correspondence_to: str = Complaint.Correspondence.BOTH

    @property
    def is_empty(self) -> bool:
        return not any((self.name, self.relationship, self.email, self.phone, self.address, self.consent_note)) and (
            self.consent_given_on is None and self.consent_document_id is None
        )

    def problems(self, *, today: date | None = None) -> dict[str, str]:
        """What is missing or wrong, by field; empty when the record can be kept."""
        found: dict[str, str] = {}
        if not self.name.strip():
            found["name"] = "Enter the representative's full name."
        if not self.relationship.strip():
            found["relationship"] = "Say how they are related to the client, for example daughter, accountant."
        if not (self.email or self.phone.strip() or self.address.strip()):
            found["email"] = "Enter an email address, phone number or postal address for the representative."
        if not self.consent_note.strip() and self.consent_document_id is None:
            found["consent_note"] = "Say how the client gave their consent, or choose the document that gives it."
        if self.consent_given_on is None:
            found["consent_given_on"] = "Enter the date the client gave their consent."
        elif self.consent_given_on > (today or business_days.london_today()):
            found["consent_given_on"] = "The date of consent cannot be in the future."
        if self.correspondence_to not in Complaint.Correspondence.values:
            found["correspondence_to"] = "Choose who receives our letters and emails."
        elif self.correspondence_to != Complaint.Correspondence.CLIENT and not (self.email or self.address.strip()):
            found.setdefault("email", "To write to the representative we need their email address or postal address.")
        return found

    def as_model_fields(self) -> dict:
        return {
            "representative_name": self.name.strip(),
            "representative_relationship": self.relationship.strip(),
            "representative_email": self.email.strip(),
            "representative_phone": self.phone.strip(),
            "representative_address": self.address.strip(),
            "consent_note": self.consent_note.strip(),
            "consent_given_on": self.consent_given_on,
            "consent_document_id": self.consent_document_id,
            "correspondence_to": self.correspondence_to,
        }

    @classmethod
    def of(cls, complaint: Complaint) -> RepresentativeDetails | None:
        if not complaint.has_representative:
            return None
        return cls(
            name=complaint.representative_name,
            relationship=complaint.representative_relationship,
            email=complaint.representative_email,
            phone=complaint.representative_phone,
            address=complaint.representative_address,
            consent_note=complaint.consent_note,
            consent_given_on=complaint.consent_given_on,
            consent_document_id=complaint.consent_document_id,
            correspondence_to=complaint.correspondence_to,
        )


# The representative's fields as they are when a case has none.
NO_REPRESENTATIVE = {
    **RepresentativeDetails(correspondence_to=Complaint.Correspondence.CLIENT).as_model_fields(),
}


@dataclass(frozen=True)
class ComplaintDetails:
    """What a complainant tells us, whichever way the complaint arrived."""

    name: str
    description: str
    email: str = ""
    phone: str = ""
    organisation: str = ""
    preferred_contact: str = Complaint.ContactMethod.EMAIL
    postal_address: str = ""
    incident_date: date | None = None
    desired_outcome: str = ""
    access_needs: tuple[str, ...] = ()
    access_needs_detail: str = ""
    representative: RepresentativeDetails | None = None

    @property
    def email_recipients(self) -> list[str]:
        """The addresses the case's emails will go to (``Complaint.email_recipients``, before the case exists)."""
        return [person.email for person in Complaint(**self.as_model_fields()).email_recipients]

    @classmethod
    def from_mapping(cls, data) -> ComplaintDetails:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def as_model_fields(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "representative"}
        values["access_needs"] = [need for need in self.access_needs if need in Complaint.AccessNeed.values]
        if self.representative is not None:
            problems = self.representative.problems()
            if problems:
                raise ValidationError({f"representative_{name}": message for name, message in problems.items()})
            values.update(self.representative.as_model_fields())
        return values


def record_event(complaint: Complaint, **event) -> ComplaintEvent:
    """An entry on the timeline that changes no status (a status change writes its own: ``StateMachine.transition``)."""
    return ComplaintEvent.objects.record(complaint, **event)


def next_reference(year: int) -> str:
    """Take the next reference number of ``year``; call inside a transaction.

    One ``UPDATE ... RETURNING`` takes the number: the counter row's lock is held
    until commit, so two submissions can never get the same number and the
    numbers run without gaps, on PostgreSQL or SQLite.
    """
    sequence = _increment_reference_counter(year)
    if sequence is None:
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last=1)
            sequence = 1
        except IntegrityError:
            # Another submission created the year's row first: take a number from it.
            sequence = _increment_reference_counter(year)
    if sequence is None:  # the year's row was made by another submission a moment ago: it cannot vanish
        raise RuntimeError(f"The reference counter of {year} could not be read.")
    return format_reference(year, sequence)


def _increment_reference_counter(year: int) -> int | None:
    """Add one to the year's counter and return the new value (None if the year has no row yet)."""
    connection = connections[router.db_for_write(ReferenceCounter)]
    if not connection.features.can_return_columns_from_insert:
        # An SQLite older than 3.35 has no RETURNING: update, then read under the same lock.
        if not ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1):
            return None
        return ReferenceCounter.objects.values_list("last", flat=True).get(year=year)
    quote = connection.ops.quote_name
    table, last, key = quote(ReferenceCounter._meta.db_table), quote("last"), quote("year")
    with connection.cursor() as cursor:
        # Raw SQL because the ORM cannot return a value from an UPDATE; this saves
        # a second statement on the path every public submission takes.
        cursor.execute(
            f"UPDATE {table} SET {last} = {last} + 1 WHERE {key} = %s RETURNING {last}",  # noqa: S608 - quoted names
            [year],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class StoredDocument:
    """A validated document already written to private storage, not yet recorded on a case."""

    upload: ValidatedUpload
    name: str  # its path in private storage (a random name, never the client's)


@contextmanager
def documents_stored(files: Sequence[ValidatedUpload], *, public_id: uuid.UUID) -> Iterator[list[StoredDocument]]:
    """Write documents to private storage before the transaction that records them; delete them if it fails.

    So no file is written while a case row is locked, and a transaction that rolls back leaves no
    file behind. Use around a durable transaction (the outermost one): committed means kept.
    """
    storage = private_storage()
    stored: list[StoredDocument] = []
    try:
        for upload in files:
            upload.file.seek(0)
            name = storage.save(attachment_path_for(public_id), File(upload.file), max_length=255)
            stored.append(StoredDocument(upload, name))
        yield stored
    except BaseException:
        for document in stored:
            try:
                storage.delete(document.name)
            except STORAGE_UNAVAILABLE as error:
                # The store went down part-way: the file stays unreferenced (a random name, listed by nothing);
                # the original failure is the one the caller must see.
                logger.warning("Could not remove unrecorded document %s (%s)", document.name, type(error).__name__)
        raise


def _create_complaint(
    *,
    details: ComplaintDetails,
    channel: str,
    received_at: datetime,
    documents: Sequence[StoredDocument],
    public_id: uuid.UUID,
    logged_by=None,
    documents_from_client: bool | None = None,
) -> Complaint:
    """The complaint and its documents (the client's when they came from the client, else staff's)."""
    from_client = logged_by is None if documents_from_client is None else documents_from_client
    complaint = Complaint.objects.create(
        public_id=public_id,
        reference=next_reference(business_days.london_date(received_at).year),
        channel=channel,
        received_at=received_at,
        acknowledgement_due=business_days.due_date(received_at, settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS),
        logged_by=logged_by,
        **details.as_model_fields(),
    )
    for document in documents:
        attachment_add(
            complaint=complaint,
            document=document,
            source=Attachment.Source.CLIENT if from_client else Attachment.Source.STAFF,
            uploaded_by=None if from_client else logged_by,
            record=False,
        )
    return complaint


def attachment_add(
    *,
    complaint: Complaint,
    document: StoredDocument,
    source: str,
    uploaded_by=None,
    record=True,
    for_appeal: bool = False,
):
    """Record a document (already in private storage: ``documents_stored``) on the case."""
    upload = document.upload
    attachment = Attachment.objects.create(
        complaint=complaint,
        file=document.name,
        original_name=upload.original_name[:255],
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
        source=source,
        uploaded_by=uploaded_by,
        for_appeal=for_appeal,
    )
    if record:
        record_event(
            complaint,
            kind=Event.ATTACHMENT_ADDED,
            summary=f"Document added{' to the appeal' if for_appeal else ''}: {attachment.original_name}",
            actor=uploaded_by,
            label=None if uploaded_by else CLIENT,
            client_visible=True,
        )
    return attachment


def message_to_client(
    complaint: Complaint,
    *,
    kind: str,
    dedupe_key: str,
    context: dict | None = None,
    letter=None,
    send_at: datetime | None = None,
    first_for_key: bool = False,
    only_email: str = "",
) -> list[OutboundMessage]:
    """An email to the client about their case, queued on commit (``message_queue``), one to each of the case's
    correspondents with an email address (``Complaint.email_recipients``: the client, their representative or
    both); none when nobody has one. ``only_email`` keeps the one correspondent with that address (a link asked
    for on the public site goes back to the address that asked). The one place that decides where a client's
    emails go; the deadline sweep's bulk closing (``procedure.sweep``) reads the same ``email_recipients``.
    """
    wanted = only_email.strip().lower()
    messages = []
    for person in complaint.email_recipients:
        if wanted and person.email.strip().lower() != wanted:
            continue
        messages.append(
            message_queue(
                kind=kind,
                dedupe_key=person.outbox_key(dedupe_key),
                to_email=person.email,
                complaint=complaint,
                context={**(context or {}), "recipient": person.role},
                letter=letter,
                send_at=send_at,
                first_for_key=first_for_key,
            )
        )
    return messages


def _queue_acknowledgement(complaint: Complaint) -> None:
    message_to_client(
        complaint,
        kind="complaint_acknowledgement",
        dedupe_key=f"complaint:{complaint.pk}:acknowledgement",
        # Called only for a complaint created in this transaction: its key is new.
        first_for_key=True,
    )


def complaint_submit(*, details: ComplaintDetails, files: Sequence[ValidatedUpload] = ()) -> Complaint:
    """A client files a complaint on the public form.

    The complaint, its documents, its first timeline entry and the outbox row of
    its acknowledgement are saved together; the email is sent after commit.
    """
    if not details.email_recipients:
        raise ValidationError("An email address is needed to acknowledge a complaint filed online.")
    public_id = uuid.uuid4()
    with documents_stored(files, public_id=public_id) as documents, transaction.atomic(durable=True):
        return _submit(details=details, documents=documents, public_id=public_id)


def _submit(*, details: ComplaintDetails, documents: Sequence[StoredDocument], public_id: uuid.UUID) -> Complaint:
    received_at = timezone.now()
    complaint = _create_complaint(
        details=details,
        channel=Complaint.Channel.WEB,
        received_at=received_at,
        documents=documents,
        public_id=public_id,
    )
    _received(complaint, documents, kind=Event.SUBMITTED, summary="Complaint received through the website")
    return complaint


def _access_needs_words(complaint: Complaint) -> str:
    words = "; ".join(label.lower() for label in complaint.access_need_labels)
    detail = complaint.access_needs_detail.strip()
    return "; ".join(part for part in (words, detail) if part)


def _record_access_needs_asked(complaint: Complaint) -> None:
    words = _access_needs_words(complaint)
    if words:
        record_event(
            complaint,
            kind=Event.ADJUSTMENT,
            summary=f"You asked us for: {words}"[:300],
            label=CLIENT,
            client_visible=True,
            at=complaint.received_at,
        )


@transaction.atomic
def complaint_set_access_needs(
    *, actor, complaint: Complaint, needs: Sequence[str], detail: str = "", expected_revision: int | None = None
) -> Complaint:
    """Staff record the adjustments agreed with the client (large print, plain language, a phone call instead of
    writing, more time): shown to staff on the case, in reminders and to the Director; on the timeline."""
    unknown = [need for need in needs if need not in Complaint.AccessNeed.values]
    if unknown:
        raise ValidationError({"needs": [f"Not an adjustment we record: {', '.join(unknown)}."]})
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    locked.access_needs = [need for need in Complaint.AccessNeed.values if need in needs]
    locked.access_needs_detail = detail.strip()
    locked.save_change("access_needs", "access_needs_detail")
    words = _access_needs_words(locked)
    record_event(
        locked,
        kind=Event.ADJUSTMENT,
        summary=(f"We agreed: {words}" if words else "We no longer record any adjustment")[:300],
        actor=actor,
        client_visible=True,
    )
    return locked


def _correspondence_words(complaint: Complaint) -> str:
    return " and ".join(
        "the client" if not person.is_representative else person.name for person in complaint.correspondents
    )


def _record_representative_at_intake(complaint: Complaint) -> None:
    if complaint.has_representative:
        record_event(
            complaint,
            kind=Event.REPRESENTATIVE,
            summary=(
                f"{complaint.representative_name} ({complaint.representative_relationship}) complains on the "
                f"client's behalf; letters and emails go to {_correspondence_words(complaint)}"
            )[:300],
            label=CLIENT if complaint.logged_by is None else None,
            actor=complaint.logged_by,
            client_visible=True,
            at=complaint.received_at,
        )


@transaction.atomic
def complaint_set_representative(
    *,
    actor,
    complaint: Complaint,
    representative: RepresentativeDetails | None,
    expected_revision: int | None = None,
) -> Complaint:
    """Staff record, change or remove the person complaining on the client's behalf (None removes them).

    The consent document must be one of the case's own documents. When a representative is removed or their
    email address changes, every secure link sent so far stops working and a fresh one goes to whoever receives
    the case's emails now: a representative whose authority ended keeps no way into the case.
    """
    if representative is not None:
        problems = representative.problems()
        if problems:
            raise ValidationError(problems)
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    if locked.anonymised_at is not None:
        raise ValidationError("The personal data of this case was removed: nobody can be recorded on it.")
    document = representative.consent_document_id if representative is not None else None
    if document is not None and not locked.attachments.filter(pk=document).exists():
        raise ValidationError({"consent_document_id": "Choose one of this case's documents."})
    old_email = locked.representative_email.strip().lower()
    values = representative.as_model_fields() if representative is not None else NO_REPRESENTATIVE
    for field, value in values.items():
        setattr(locked, field, value)
    locked.save_change(*values)
    if representative is None:
        summary = "We no longer deal with a representative: letters and emails go to the client"
    else:
        summary = (
            f"{locked.representative_name} ({locked.representative_relationship}) complains on the client's "
            f"behalf; letters and emails go to {_correspondence_words(locked)}"
        )
    record_event(locked, kind=Event.REPRESENTATIVE, summary=summary[:300], actor=actor, client_visible=True)
    # A link may have gone to the representative's old address (whoever received the emails then): it stops.
    if old_email and (representative is None or representative.email.strip().lower() != old_email):
        _revoke_links(locked, actor=actor, why="the representative's authority or address changed")
        message_to_client(
            locked, kind="client_link", dedupe_key=f"complaint:{locked.pk}:client-link:v{locked.client_link_version}"
        )
    return locked


def _received(
    complaint: Complaint, documents: Sequence[StoredDocument], *, kind: str, summary: str, actor=None
) -> None:
    """The first timeline entries of a complaint the client sent (with their documents), and its acknowledgement."""
    event = record_event(
        complaint,
        kind=kind,
        summary=summary,
        actor=actor,
        label=CLIENT if actor is None else None,
        client_visible=True,
        to_status=Status.RECEIVED,
        at=complaint.received_at,
    )
    webhooks.emit(webhooks.RECEIVED, event, complaint)
    if documents:
        names = ", ".join(document.upload.original_name for document in documents)
        record_event(
            complaint,
            kind=Event.ATTACHMENT_ADDED,
            summary=f"Documents sent with the complaint: {names}",
            label=CLIENT,
            client_visible=True,
            at=complaint.received_at,
        )
    _record_access_needs_asked(complaint)
    _record_representative_at_intake(complaint)
    _queue_acknowledgement(complaint)


def complaint_log(
    *,
    actor,
    channel: str,
    received_at: datetime,
    details: ComplaintDetails,
    files: Sequence[ValidatedUpload] = (),
) -> Complaint:
    """A complaints lead logs a complaint that came by phone, email, letter or in person.

    Deadlines run from ``received_at``, the real time it arrived. With an email
    address the client is acknowledged by email; without one the lead gets a PDF
    acknowledgement letter to post, and the complaint counts as acknowledged now.
    """
    if not actor.has_perm("cases.log_complaint"):
        raise PermissionDenied("Only complaints leads may log complaints received outside the website.")
    if channel == Complaint.Channel.WEB:
        raise ValidationError("Complaints from the website are filed by the client on the public form.")
    if received_at > timezone.now() + timedelta(minutes=1):
        raise ValidationError("The time of receipt cannot be in the future.")
    public_id = uuid.uuid4()
    with documents_stored(files, public_id=public_id) as documents, transaction.atomic(durable=True):
        return _log(
            actor=actor,
            channel=channel,
            received_at=received_at,
            details=details,
            documents=documents,
            public_id=public_id,
        )


def _log(
    *,
    actor,
    channel: str,
    received_at: datetime,
    details: ComplaintDetails,
    documents: Sequence[StoredDocument],
    public_id: uuid.UUID,
) -> Complaint:
    complaint = _create_complaint(
        details=details,
        channel=channel,
        received_at=received_at,
        documents=documents,
        public_id=public_id,
        logged_by=actor,
    )
    event = record_event(
        complaint,
        kind=Event.LOGGED,
        summary=f"Complaint received by {Complaint.Channel(channel).label.lower()}",
        actor=actor,
        client_visible=True,
        to_status=Status.RECEIVED,
        at=received_at,
    )
    webhooks.emit(webhooks.RECEIVED, event, complaint)
    if documents:
        names = ", ".join(document.upload.original_name for document in documents)
        record_event(complaint, kind=Event.ATTACHMENT_ADDED, summary=f"Documents filed: {names}", actor=actor)
    _record_access_needs_asked(complaint)
    _record_representative_at_intake(complaint)
    if complaint.email_recipients:
        _queue_acknowledgement(complaint)
    else:
        acknowledgement_letter_issue(complaint=complaint, actor=actor)
    return complaint


def complaint_acknowledge(*, complaint: Complaint, at: datetime, actor=None, how: str = "email") -> Complaint:
    """received → acknowledged. The investigation's 10 business days run from here.

    Called inside the transaction that sends the acknowledgement (email or letter),
    so the case is acknowledged if and only if the acknowledgement went out. Returns the case as saved
    (``complaint`` itself is not read again: a caller that goes on using it refreshes it).
    """
    with transaction.atomic():
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
        locked.acknowledged_at = at
        locked.outcome_due = business_days.due_date(at, settings.COMPLAINT_OUTCOME_DAYS)
        event = locked.transition(
            Status.ACKNOWLEDGED,
            event=Event.ACKNOWLEDGED,
            summary=f"Complaint acknowledged by {how}; reference {locked.reference} given",
            actor=actor,
            client_visible=True,
            at=at,
            fields=["acknowledged_at", "outcome_due"],
        )
        webhooks.emit(webhooks.ACKNOWLEDGED, event, locked)
    return locked


def acknowledgement_letter_issue(*, complaint: Complaint, actor):
    """Make the printable acknowledgement letter for a client without email, and acknowledge."""

    now = timezone.now()
    complaint_acknowledge(complaint=complaint, at=now, actor=actor, how="letter")
    complaint.refresh_from_db()  # the letter gives the outcome's due date, set just now
    letter = letters.letter_issue(complaint=complaint, kind=ACKNOWLEDGEMENT_LETTER, at=now)
    record_event(
        complaint,
        kind=Event.LETTER_ISSUED,
        summary="Acknowledgement letter produced for posting",
        actor=actor,
        client_visible=True,
    )
    return letter


def complaint_send_fresh_link(*, complaint: Complaint, only_email: str = "") -> bool:
    """Email a new tracking link to the case's correspondents (or the one of them with ``only_email``), and
    nowhere else.

    At most one per ``FRESH_LINK_INTERVAL``, so the page cannot be used to flood
    an inbox. Returns whether a link was queued.
    """

    bucket = int(timezone.now().timestamp() // FRESH_LINK_INTERVAL.total_seconds())
    with transaction.atomic():
        messages = message_to_client(
            complaint,
            kind="client_link",
            dedupe_key=f"complaint:{complaint.pk}:client-link:{bucket}",
            only_email=only_email,
        )
    return any(message.state == message.State.PENDING for message in messages)


def complaint_request_link(*, reference: str, email: str) -> None:
    """Someone asks on the public site for a new link to a complaint: it goes back to that address only, if
    the reference matches a complaint whose data is kept and the address is one its emails go to (the client's,
    their representative's or both, as the case says). Says nothing either way (the page answers the same), so
    it tells nobody whether a complaint exists.
    """
    wanted = email.strip().lower()
    named = Complaint.objects.filter(reference=reference.strip().upper()).select_related("merged_into").first()
    # A duplicate's reference stands for the case it was merged into (its links lead there too).
    complaint = named.main_case if named is not None else None
    if complaint is None or complaint.anonymised_at is not None or not wanted:
        return
    if wanted not in {person.email.strip().lower() for person in complaint.email_recipients}:
        return
    complaint_send_fresh_link(complaint=complaint, only_email=wanted)


# --- The investigation (issue 3): every action one transition, locked and recorded ----


class StaleCase(Exception):
    """The case changed since the form was opened; nothing was saved."""

    def __init__(self, complaint: Complaint) -> None:
        super().__init__(
            f"Complaint {complaint.reference} was changed by someone else while you were working on it. "
            "Nothing was saved: check the case as it is now, then submit again (your text is kept)."
        )
        self.complaint = complaint


@dataclass(frozen=True)
class ActionSpec:
    """One step promised in an outcome letter."""

    kind: str
    description: str
    owner: User | None
    due_date: date


def _lock(*, complaint: Complaint, actor, expected_revision: int | None = None) -> Complaint:
    """Lock the case row for a change by ``actor``; refuse strangers and stale forms."""

    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if not permissions.can_work_on(actor, locked):
        raise PermissionDenied("You do not have a role in this complaint.")
    if expected_revision is not None and locked.revision != expected_revision:
        raise StaleCase(locked)
    return locked


def _notify_staff(*, complaint: Complaint, kind: str, key: str, users, context: dict | None = None) -> None:

    for user in users:
        if user.email:
            message_queue(
                kind=kind,
                dedupe_key=f"complaint:{complaint.pk}:{key}:user:{user.pk}",
                to_email=user.email,
                complaint=complaint,
                context={"recipient_name": actor_label(user), **(context or {})},
                client_visible=False,
            )


@transaction.atomic
def complaint_assign(*, actor, complaint: Complaint, assignee, expected_revision: int | None = None) -> Complaint:
    """Give the case to a manager (leads), or pick up an unassigned case (managers, to themselves)."""

    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    if not permissions.can_assign(actor, locked, assignee):
        raise PermissionDenied("Only complaints leads assign cases; a manager may pick up an unassigned case.")
    if not locked.is_open:
        raise ValidationError(
            f"Complaint {locked.reference} is {locked.get_status_display().lower()}: it cannot be reassigned."
        )
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    locked.assignee = assignee
    locked.save_change("assignee")
    summary = f"Assigned to {actor_label(assignee)}" if assignee else "Returned to the unassigned queue"
    record_event(locked, kind=Event.ASSIGNED, summary=summary, actor=actor)
    if assignee is not None and assignee.pk != actor.pk:
        _notify_staff(
            complaint=locked,
            kind="staff_assignment",
            key=f"assigned:r{locked.revision}",
            users=[assignee],
            context={"assigned_by": actor_label(actor)},
        )
    return locked


@transaction.atomic
def complaint_categorise(*, actor, complaint: Complaint, category, expected_revision: int | None = None) -> Complaint:
    """Record what the complaint is about (categories are kept in the admin)."""
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    if category is not None and not category.active:
        raise ValidationError(f"The category '{category}' is no longer in use.")
    locked.category = category
    locked.save_change("category")
    record_event(locked, kind=Event.CATEGORISED, summary=f"Categorised as {category or 'uncategorised'}", actor=actor)
    return locked


@transaction.atomic
def complaint_start_investigation(*, actor, complaint: Complaint, expected_revision: int | None = None) -> Complaint:
    """acknowledged → investigating. A manager starting an unassigned case takes it on."""
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    if locked.status != Status.ACKNOWLEDGED:
        # The table also allows awaiting_client → investigating, but only the
        # client's answer (complaint_client_reply) may take that step: it moves the due date.
        raise TransitionNotAllowed(locked, Status.INVESTIGATING)
    locked.investigation_started_at = timezone.now()
    fields_changed = ["investigation_started_at"]
    if locked.assignee_id is None:
        locked.assignee = actor
        fields_changed.append("assignee")
    locked.transition(
        Status.INVESTIGATING,
        event=Event.INVESTIGATION_STARTED,
        summary="We started investigating your complaint",
        actor=actor,
        client_visible=True,
        at=locked.investigation_started_at,
        fields=fields_changed,
    )
    return locked


@transaction.atomic
def complaint_add_note(*, actor, complaint: Complaint, text: str):
    """An internal note (never shown to the client). Notes add, they never overwrite."""
    locked = _lock(complaint=complaint, actor=actor)
    text = text.strip()
    if not text:
        raise ValidationError("A note cannot be empty.")
    note = Note.objects.create(complaint=locked, author=actor, text=text)
    record_event(locked, kind=Event.NOTE_ADDED, summary="Internal note added", actor=actor)
    return note


@transaction.atomic
def complaint_request_information(*, actor, complaint: Complaint, message: str, expected_revision: int | None = None):
    """investigating → awaiting_client: ask the client a question; the investigation clock stops here."""

    message = message.strip()
    if not message:
        raise ValidationError("Write the question to the client.")
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    now = timezone.now()
    locked.clock_stopped_at = now
    locked.transition(
        Status.AWAITING_CLIENT,
        event=Event.INFORMATION_REQUESTED,
        summary="We asked you for more information",
        actor=actor,
        client_visible=True,
        at=now,
        fields=["clock_stopped_at"],
    )
    request = InformationRequest.objects.create(complaint=locked, requested_by=actor, requested_at=now, message=message)
    message_to_client(
        locked,
        kind="information_request",
        dedupe_key=f"complaint:{locked.pk}:information-request:{request.pk}",
        context={"request_id": request.pk},
    )
    return request


def complaint_client_reply(*, complaint: Complaint, text: str, files: Sequence[ValidatedUpload] = ()):
    """awaiting_client → investigating: the client answers; the clock restarts.

    The outcome due date moves on by the business days that passed while the
    case waited (counted between the effective dates of the question and the answer).
    """

    text = text.strip()
    if not text and not files:
        raise ValidationError("Write your answer or attach a document.")
    with documents_stored(files, public_id=complaint.public_id) as documents, transaction.atomic(durable=True):
        return _client_reply(complaint=complaint, text=text, documents=documents)


def _client_reply(*, complaint: Complaint, text: str, documents: Sequence[StoredDocument]) -> InformationRequest:
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if locked.status != Status.AWAITING_CLIENT:
        raise ValidationError("We are not waiting for information on this complaint at the moment.")
    return _answer(locked, text=text, documents=documents, at=timezone.now())


# How an answer reached us when it did not come through the client's page: its name on the staff form, and
# the words of the timeline ("You sent the information we asked for by phone").
ANSWER_CHANNELS = {
    "phone": ("Phone call", "by phone"),
    "letter": ("Letter", "by letter"),
    "in_person": ("In person", "in person"),
    "email": ("Email from another address", "by email from another address"),
}


def complaint_record_answer(
    *,
    actor,
    complaint: Complaint,
    how: str,
    text: str,
    received_at: datetime,
    files: Sequence[ValidatedUpload] = (),
    expected_revision: int | None = None,
) -> InformationRequest:
    """awaiting_client → investigating: staff record the answer the client gave by phone, by letter or in person.

    The same answer as one sent on the client's page (``_answer``: the clock restarts at ``received_at``, the
    outcome due date moved on by the business days waited), recorded as who took it. The documents (a letter,
    scanned) are stored before the case is locked.
    """
    if how not in ANSWER_CHANNELS:
        raise ValidationError({"how": [f"Not a way an answer reaches us: {how}."]})
    text = text.strip()
    if not text:
        raise ValidationError({"text": ["Write down what the client told us."]})
    if received_at > timezone.now() + timedelta(minutes=1):
        raise ValidationError({"received_at": ["The answer cannot have reached us in the future."]})
    if not permissions.can_work_on(actor, complaint):
        raise PermissionDenied("You do not have a role in this complaint.")
    with documents_stored(files, public_id=complaint.public_id) as documents, transaction.atomic(durable=True):
        locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
        if locked.status != Status.AWAITING_CLIENT:
            raise ValidationError("We are not waiting for information on this complaint at the moment.")
        asked_at = locked.information_requests.filter(answered_at__isnull=True).values_list("requested_at", flat=True)
        if any(received_at < moment for moment in asked_at):
            raise ValidationError({"received_at": ["The answer cannot have reached us before the question was asked."]})
        request = _answer(
            locked, text=text, documents=documents, at=received_at, how=ANSWER_CHANNELS[how][1], recorded_by=actor
        )
        record_event(
            locked,
            kind=Event.CLIENT_REPLIED,
            summary=f"The client's answer {ANSWER_CHANNELS[how][1]} was recorded by staff",
            actor=actor,
        )
        return request


def _answer(
    locked: Complaint,
    *,
    text: str,
    documents: Sequence[StoredDocument],
    at: datetime,
    how: str = "",
    recorded_by=None,
) -> InformationRequest:
    """The client's answer to the open question: the clock restarts, moved on by the business days waited.

    ``how``: how it reached us when not on their page ("by email", "by phone"). ``recorded_by``: the staff member
    who took it (nobody else is emailed then; the documents are theirs, as the client's)."""
    request = InformationRequest.objects.select_for_update().get(complaint=locked, answered_at__isnull=True)
    now = at
    # Set whenever the case waits for the client (complaint_request_information); a case without it lost no time.
    stopped_at = locked.clock_stopped_at or now
    paused = max(
        business_days.business_days_between(
            business_days.effective_date(stopped_at), business_days.effective_date(now)
        ),
        0,
    )
    if paused and locked.outcome_due:
        locked.outcome_due = business_days.add_business_days(locked.outcome_due, paused)
    locked.clock_stopped_at = None
    summary = f"You sent the information we asked for{' ' + how if how else ''}; the investigation continues"
    if paused:
        summary += f" (our response is now due {locked.outcome_due:%-d %B %Y})"
    locked.transition(
        Status.INVESTIGATING,
        event=Event.CLIENT_REPLIED,
        summary=summary,
        label=CLIENT,
        client_visible=True,
        at=now,
        fields=["clock_stopped_at", "outcome_due"],
    )
    request.answered_at = now
    request.answer = text
    request.paused_business_days = paused
    request.save(update_fields=["answered_at", "answer", "paused_business_days"])
    for document in documents:
        attachment_add(
            complaint=locked,
            document=document,
            source=Attachment.Source.CLIENT if recorded_by is None else Attachment.Source.STAFF,
            uploaded_by=recorded_by,
        )
    if recorded_by is None:
        _notify_staff(
            complaint=locked,
            kind="staff_client_reply",
            key=f"client-reply:{request.pk}",
            users=[locked.assignee] if locked.assignee else list(permissions.leads()),
        )
    return request


# --- Email in: building blocks the inbound app calls inside its own transaction ---------------------
# (The message and its documents are stored first; the inbound row, the case and what the email
# became are then written in one transaction, so a message can never become two of anything.)


def complaint_record_email(
    *,
    details: ComplaintDetails,
    received_at: datetime,
    documents: Sequence[StoredDocument],
    public_id: uuid.UUID,
    opened_by=None,
) -> Complaint:
    """A complaint that came by email to complaints@: received when our mail server received it.

    Call inside the caller's transaction, its documents already stored (``documents_stored`` with
    the same ``public_id``). The client is acknowledged by email, as for the web form. ``opened_by``:
    the complaints lead who opened it from the emails waiting for a person (it was not opened by itself).
    """
    if opened_by is not None and not opened_by.has_perm("cases.log_complaint"):
        raise PermissionDenied("Only complaints leads may open an email as a complaint.")
    complaint = _create_complaint(
        details=details,
        channel=Complaint.Channel.EMAIL,
        received_at=received_at,
        documents=documents,
        public_id=public_id,
        logged_by=opened_by,
        documents_from_client=True,
    )
    _received(
        complaint,
        documents,
        kind=Event.SUBMITTED if opened_by is None else Event.LOGGED,
        summary="Complaint received by email",
        actor=opened_by,
    )
    return complaint


def client_wrote_by_email(
    *,
    complaint: Complaint,
    text: str,
    documents: Sequence[StoredDocument],
    received_at: datetime,
    from_address: str,
    attached_by=None,
) -> InformationRequest | ClientMessage:
    """The client replied to one of our emails: the answer to our open question, else a message on the case.

    Call inside the caller's transaction, its documents already stored. An answer restarts the
    investigation clock exactly as an answer on the client's page does; a message changes no deadline.
    The investigator (or the leads) is emailed either way. ``attached_by``: the complaints lead who
    attached it to the case from the emails waiting for a person (it came from another address).
    """
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if attached_by is not None and not permissions.can_work_on(attached_by, locked):
        raise PermissionDenied("You do not have a role in this complaint.")
    if locked.status == Status.AWAITING_CLIENT:
        return _answer(locked, text=text, documents=documents, at=received_at, how="by email")
    message = _client_message(
        locked,
        text=text,
        documents=documents,
        at=received_at,
        channel=ClientMessage.Channel.EMAIL,
        from_address=from_address,
    )
    if attached_by is not None:
        record_event(
            locked,
            kind=Event.CLIENT_WROTE,
            summary=f"An email from {from_address} was attached to the case by a complaints lead",
            actor=attached_by,
        )
    return message


def client_write(
    *, complaint: Complaint, text: str, files: Sequence[ValidatedUpload] = ()
) -> InformationRequest | ClientMessage:
    """The client writes on their case page, with documents: the answer to our open question, else a message.

    Allowed while the complaint or its appeal is open. An answer restarts the investigation clock
    (``complaint_client_reply``); a message changes no deadline. Staff are emailed either way.
    """
    text = text.strip()
    if not text and not files:
        raise ValidationError("Write a message or attach a document.")
    with documents_stored(files, public_id=complaint.public_id) as documents, transaction.atomic(durable=True):
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
        now = timezone.now()
        if locked.status == Status.AWAITING_CLIENT:
            return _answer(locked, text=text, documents=documents, at=now)
        return _client_message(locked, text=text, documents=documents, at=now, channel=ClientMessage.Channel.WEB)


def client_may_write(complaint: Complaint) -> bool:
    """May the client send us a message or documents now? While the complaint or its appeal is open."""
    return complaint.is_open or complaint.status == Status.UNDER_APPEAL


def _client_message(
    locked: Complaint,
    *,
    text: str,
    documents: Sequence[StoredDocument],
    at: datetime,
    channel: str,
    from_address: str = "",
) -> ClientMessage:
    """A message from the client that answers no question: recorded with its documents; no deadline changes.

    Its documents belong to the appeal while one is open (the Director sees them with it). Whoever
    works the case is emailed: the assigned manager, else the complaints leads, and the Directors
    while the appeal is open.
    """
    if not client_may_write(locked):
        raise ValidationError(
            f"Complaint {locked.reference} is {locked.get_status_display().lower()}: "
            "we can no longer add messages to it."
        )
    under_appeal = locked.status == Status.UNDER_APPEAL
    names = [document.upload.original_name for document in documents]
    message = ClientMessage.objects.create(
        complaint=locked,
        channel=channel,
        text=text,
        received_at=at,
        from_address=from_address,
        document_names=names,
    )
    for document in documents:
        attachment_add(
            complaint=locked, document=document, source=Attachment.Source.CLIENT, record=False, for_appeal=under_appeal
        )
    if channel == ClientMessage.Channel.EMAIL:
        summary = "You wrote to us by email"
    elif text:
        summary = "You sent us a message"
    else:
        summary = "You sent us documents"
    if names:
        summary += f"{', with' if text or channel == ClientMessage.Channel.EMAIL else ':'} {', '.join(names)}"
    record_event(locked, kind=Event.CLIENT_WROTE, summary=summary, label=CLIENT, client_visible=True, at=at)
    users = [locked.assignee] if locked.assignee else list(permissions.leads())
    if under_appeal:
        users += [user for user in permissions.appeal_deciders() if user not in users]
    _notify_staff(
        complaint=locked,
        kind="staff_client_reply",
        key=f"client-message:{message.pk}",
        users=users,
        context={"message_only": True, "for_appeal": under_appeal},
    )
    return message


@transaction.atomic
def complaint_send_update(*, actor, complaint: Complaint, text: str, expected_revision: int | None = None):
    """Staff send the client news that is not a question: emailed with the reference (when there is an
    address), shown on the client's page. No clock changes. While the complaint or its appeal is open."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": ["Write the update."]})
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    if not client_may_write(locked):
        raise ValidationError(
            f"Complaint {locked.reference} is {locked.get_status_display().lower()}: updates are for open cases."
        )
    update = ClientUpdate.objects.create(complaint=locked, text=text, sent_by=actor)
    how = "by email and on your page" if locked.email_recipients else "on your page"
    record_event(
        locked, kind=Event.UPDATE_SENT, summary=f"We sent you an update {how}", actor=actor, client_visible=True
    )
    message_to_client(
        locked,
        kind="client_update",
        dedupe_key=f"complaint:{locked.pk}:update:{update.pk}",
        context={"update_id": update.pk},
    )
    return update


def complaint_add_documents(
    *, actor, complaint: Complaint, files: Sequence[ValidatedUpload], note: str = "", expected_revision=None
) -> list[Attachment]:
    """Staff add documents to the case (a letter that came by post, scanned): recorded as who added them.

    The files are stored before the case is locked (``documents_stored``). Staff-only on the timeline;
    the client is not emailed. Not on a case whose personal data was removed.
    """
    if not files:
        raise ValidationError("Choose the documents to add.")
    if not permissions.can_work_on(actor, complaint):
        raise PermissionDenied("You do not have a role in this complaint.")
    with documents_stored(files, public_id=complaint.public_id) as documents, transaction.atomic(durable=True):
        locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
        if locked.anonymised_at is not None:
            raise ValidationError("The personal data of this case was removed: documents cannot be added.")
        added = [
            attachment_add(
                complaint=locked,
                document=document,
                source=Attachment.Source.STAFF,
                uploaded_by=actor,
                record=False,
                for_appeal=locked.status == Status.UNDER_APPEAL,
            )
            for document in documents
        ]
        names = ", ".join(attachment.original_name for attachment in added)
        note = note.strip()
        summary = f"Documents added by staff: {names}" + (f" ({note})" if note else "")
        record_event(locked, kind=Event.ATTACHMENT_ADDED, summary=summary[:300], actor=actor)
        return added


@transaction.atomic
def complaint_close_not_a_complaint(
    *, actor, complaint: Complaint, reason: str, expected_revision: int | None = None
) -> Complaint:
    """A complaints lead closes a case that is not a complaint (an enquiry, spam, a duplicate), with the reason.

    Recorded and audited, kept out of the complaint figures; the sender is told nothing automatically.
    An open question to the client ends with it.
    """
    if not permissions.is_lead(actor):
        raise PermissionDenied("Only a complaints lead can close a case as not a complaint.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why this is not a complaint (an enquiry, spam, a duplicate of ...)."]})
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    locked.clock_stopped_at = None
    locked.transition(
        Status.NOT_A_COMPLAINT,
        event=Event.NOT_A_COMPLAINT,
        summary=f"Closed as not a complaint. Reason: {reason}",
        actor=actor,
        fields=["clock_stopped_at"],
    )
    InformationRequest.objects.filter(complaint=locked, answered_at__isnull=True).update(
        answered_at=timezone.now(), answer="(closed as not a complaint)", ended_without_answer=True
    )
    return locked


# --- Related complaints and duplicates (issue 20, point 4) ------------------------------------------------


def _lock_pair(first: Complaint, second: Complaint) -> tuple[Complaint, Complaint]:
    """Lock two cases, always in the order of their ids (two people linking or merging the same pair the other
    way round wait for each other rather than deadlock); returns them as given."""
    pair = Complaint.objects.select_for_update().filter(pk__in=[first.pk, second.pk]).order_by("pk")
    rows = {case.pk: case for case in pair}
    return rows[first.pk], rows[second.pk]


def _other_case(actor, reference: str, *, complaint: Complaint) -> Complaint:
    """The case another reference names, if ``actor`` may see it; the same answer for a missing case and a case
    of someone else's (a reference alone reveals nothing)."""
    wanted = reference.strip().upper()
    other = Complaint.objects.filter(reference=wanted).first() if wanted else None
    if other is None or not permissions.can_see(actor, other):
        raise ValidationError({"reference": [f"No complaint {wanted or '(none given)'} among the cases you can see."]})
    if other.pk == complaint.pk:
        raise ValidationError({"reference": ["That is this complaint's own reference: give the other one."]})
    return other


@transaction.atomic
def complaint_link_related(*, actor, complaint: Complaint, reference: str) -> RelatedComplaint:
    """Staff link two complaints as related (the same incident, the same client's other complaint): both cases
    list each other, and both timelines say who linked them (for staff). Changes neither case otherwise."""
    other = _other_case(actor, reference, complaint=complaint)
    locked, other = _lock_pair(complaint, other)
    if not permissions.can_work_on(actor, locked):
        raise PermissionDenied("You do not have a role in this complaint.")
    if RelatedComplaint.objects.filter(complaint=locked, other=other).exists():
        raise ValidationError({"reference": [f"{locked.reference} and {other.reference} are linked already."]})
    now = timezone.now()
    link = RelatedComplaint.objects.create(complaint=locked, other=other, linked_by=actor, linked_at=now)
    RelatedComplaint.objects.create(complaint=other, other=locked, linked_by=actor, linked_at=now)
    for case, named in ((locked, other), (other, locked)):
        record_event(case, kind=Event.RELATED, summary=f"Linked as related to {named.reference}", actor=actor, at=now)
    return link


@transaction.atomic
def complaint_unlink_related(*, actor, complaint: Complaint, reference: str) -> None:
    """Staff remove the link between two related complaints (both ways), on both timelines."""
    other = _other_case(actor, reference, complaint=complaint)
    locked, other = _lock_pair(complaint, other)
    if not permissions.can_work_on(actor, locked):
        raise PermissionDenied("You do not have a role in this complaint.")
    removed, _ = RelatedComplaint.objects.filter(
        Q(complaint=locked, other=other) | Q(complaint=other, other=locked)
    ).delete()
    if not removed:
        raise ValidationError({"reference": [f"{locked.reference} and {other.reference} are not linked."]})
    for case, named in ((locked, other), (other, locked)):
        record_event(case, kind=Event.RELATED, summary=f"No longer linked to {named.reference}", actor=actor)


def may_merge(complaint: Complaint) -> bool:
    """Can this case be merged into another as its duplicate? Before its outcome, with its data kept."""
    return complaint.can_transition_to(Status.MERGED) and complaint.anonymised_at is None


def merge_target_problem(duplicate: Complaint, main: Complaint) -> str:
    """Why ``duplicate`` cannot be merged into ``main``, or "" if it can.

    The main case must be another one, open (or under appeal, when the client may still write to it), with its
    data kept. A case that was itself merged is refused, naming where it went: merging follows no chain, so a
    duplicate's links and replies always lead to its main case in one step.
    """
    if main.pk == duplicate.pk:
        return f"{duplicate.reference} cannot be merged into itself: give the main complaint's reference."
    if main.status == Status.MERGED:
        final = main.merged_into.reference if main.merged_into is not None else "another complaint"
        return f"{main.reference} was itself merged into {final}: merge into {final} instead."
    if main.anonymised_at is not None:
        return f"The personal data of {main.reference} was removed: nothing can be merged into it."
    if not client_may_write(main):
        return (
            f"{main.reference} is {main.get_status_display().lower()}: a duplicate can only join a complaint "
            "that is still open (or under appeal)."
        )
    return ""


@dataclass(frozen=True)
class MergeResult:
    main: Complaint
    documents: int
    messages: int


def complaint_merge(
    *,
    actor,
    complaint: Complaint,
    into: str,
    same_client_confirmed: bool = False,
    expected_revision: int | None = None,
) -> MergeResult:
    """A complaints lead merges a duplicate (``complaint``) into its main case (the reference ``into``).

    One transaction, both rows locked: the duplicate's documents (new rows naming the same stored files, which
    ``procedure.retention`` deletes only once no case keeps them) and the client's messages are copied to the main
    case; the duplicate closes as merged (out of the figures, its deadline stopped, any open question ended) and
    points at the main case, where its secure links (``cases.links``) and email replies (``inbound.services``)
    now lead; cases merged into the duplicate before move on to the main case, so that is never a chain. Both
    timelines say so, client-visible. Cases of clients who look different (``Complaint.same_client_as``) need the
    lead's confirmation: the duplicate's client will follow the main case.
    """
    if not permissions.is_lead(actor):
        raise PermissionDenied("Only a complaints lead can merge complaints.")
    main = _other_case(actor, into, complaint=complaint)
    with transaction.atomic():
        duplicate, main = _lock_pair(complaint, main)
        if expected_revision is not None and duplicate.revision != expected_revision:
            raise StaleCase(duplicate)
        if not may_merge(duplicate):
            raise ValidationError(
                f"Complaint {duplicate.reference} is {duplicate.get_status_display().lower()}: only a complaint "
                "without an outcome yet can be merged into another."
            )
        problem = merge_target_problem(duplicate, main)
        if problem:
            raise ValidationError({"reference": [problem]})
        if not same_client_confirmed and not duplicate.same_client_as(main):
            different = (
                f"{duplicate.reference} and {main.reference} have different clients' details. Tick the box to "
                "confirm they are the same client: the duplicate's client will see the main case."
            )
            raise ValidationError({"confirm_client": [different]})
        return _merge(actor=actor, duplicate=duplicate, main=main)


def _merge(*, actor, duplicate: Complaint, main: Complaint) -> MergeResult:
    now = timezone.now()
    documents = list(duplicate.attachments.all())
    Attachment.objects.bulk_create(
        Attachment(
            complaint=main,
            file=document.file.name,
            original_name=document.original_name,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256,
            source=document.source,
            uploaded_by=document.uploaded_by,
            uploaded_at=document.uploaded_at,
            for_appeal=False,
        )
        for document in documents
    )
    messages = list(duplicate.client_messages.all())
    ClientMessage.objects.bulk_create(
        ClientMessage(
            complaint=main,
            channel=message.channel,
            text=f"(Sent on {duplicate.reference}.)\n\n{message.text}".strip(),
            received_at=message.received_at,
            from_address=message.from_address,
            document_names=message.document_names,
        )
        for message in messages
    )
    # Cases merged into the duplicate before now lead to the main case in one step.
    earlier = list(Complaint.objects.select_for_update().filter(merged_into=duplicate).order_by("pk"))
    Complaint.objects.filter(pk__in=[case.pk for case in earlier]).update(
        merged_into=main, revision=F("revision") + 1, updated_at=now
    )
    ComplaintEvent.objects.bulk_create(
        ComplaintEvent(
            complaint_id=case.pk,
            kind=Event.MERGED,
            summary=f"Its main complaint {duplicate.reference} was merged into {main.reference}: it leads there now",
            actor=actor,
            actor_label=actor_label(actor),
            created_at=now,
        )
        for case in earlier
    )
    # The duplicate's related complaints are the main case's too.
    related = [other for other in duplicate.related_links.values_list("other_id", flat=True) if other != main.pk]
    RelatedComplaint.objects.bulk_create(
        [RelatedComplaint(complaint=main, other_id=other, linked_by=actor, linked_at=now) for other in related]
        + [RelatedComplaint(complaint_id=other, other=main, linked_by=actor, linked_at=now) for other in related],
        ignore_conflicts=True,
    )
    InformationRequest.objects.filter(complaint=duplicate, answered_at__isnull=True).update(
        answered_at=now, answer=f"(merged into {main.reference})", ended_without_answer=True
    )
    copied = f"; {len(documents)} document{'s' if len(documents) != 1 else ''} copied across" if documents else ""
    duplicate.merged_into = main
    duplicate.clock_stopped_at = None
    duplicate.transition(
        Status.MERGED,
        event=Event.MERGED,
        summary=f"Your complaint was joined to complaint {main.reference}, about the same matter, and is followed "
        f"there{copied}",
        actor=actor,
        client_visible=True,
        at=now,
        fields=["merged_into", "clock_stopped_at"],
    )
    record_event(
        main,
        kind=Event.DUPLICATE_JOINED,
        summary=f"Complaint {duplicate.reference}, about the same matter, was joined to this one{copied}",
        actor=actor,
        client_visible=True,
        at=now,
    )
    if messages:
        # Every client message on a case has its "client wrote" entry (the case pages read them only then).
        record_event(
            main,
            kind=Event.CLIENT_WROTE,
            summary=f"The {_plural(len(messages), 'message')} you sent about complaint {duplicate.reference} "
            f"{'is' if len(messages) == 1 else 'are'} with this complaint now",
            actor=actor,
            client_visible=True,
            at=now,
        )
    return MergeResult(main=main, documents=len(documents), messages=len(messages))


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{n} {word}s"


# --- Withdrawal -------------------------------------------------------------------------------------------

WITHDRAWABLE = (Status.RECEIVED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.AWAITING_CLIENT)


def may_withdraw(complaint: Complaint) -> bool:
    """May the complaint be withdrawn now? At any point before the outcome."""
    return complaint.status in WITHDRAWABLE


@transaction.atomic
def complaint_withdraw(
    *, complaint: Complaint, reason: str = "", actor=None, expected_revision: int | None = None
) -> Complaint:
    """The complaint is withdrawn before its outcome: by the client on their page (``actor`` None, an
    optional reason), or recorded by a complaints lead for a withdrawal made by phone or letter
    (``reason``: how and when it was made, required).

    Every deadline stops (the state has no clock: no reminder or escalation fires); an open question
    to the client ends; the client is emailed a confirmation. Reopened by mistake within
    ``WITHDRAWAL_REOPEN_DAYS`` business days, the due dates move on by the days it was withdrawn.
    """
    reason = reason.strip()
    if actor is not None:
        if not permissions.is_lead(actor):
            raise PermissionDenied("Only a complaints lead can record a withdrawal.")
        if not reason:
            raise ValidationError({"reason": ["Say how the client withdrew (a phone call, a letter) and when."]})
        locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    else:
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if not may_withdraw(locked):
        raise ValidationError(
            f"Complaint {locked.reference} is {locked.get_status_display().lower()}: "
            "it can be withdrawn only before our written outcome."
        )
    now = timezone.now()
    # Waiting for the client, the pause began with the question: it goes on until a reopening.
    locked.clock_stopped_at = locked.clock_stopped_at or now
    locked.withdrawn_from = Status.INVESTIGATING if locked.status == Status.AWAITING_CLIENT else locked.status
    locked.withdrawn_at = now
    locked.withdrawal_reason = reason
    InformationRequest.objects.filter(complaint=locked, answered_at__isnull=True).update(
        answered_at=now, answer="(the complaint was withdrawn)", ended_without_answer=True
    )
    locked.transition(
        Status.WITHDRAWN,
        event=Event.WITHDRAWN,
        summary="You withdrew your complaint",
        label=CLIENT if actor is None else None,
        actor=actor,
        client_visible=True,
        at=now,
        fields=["clock_stopped_at", "withdrawn_from", "withdrawn_at", "withdrawal_reason"],
    )
    if actor is not None:
        record_event(locked, kind=Event.WITHDRAWN, summary=f"Withdrawal recorded: {reason}"[:300], actor=actor, at=now)
    elif reason:
        record_event(locked, kind=Event.WITHDRAWN, summary=f"The client's reason: {reason}"[:300], label=CLIENT, at=now)
    message_to_client(
        locked, kind="complaint_withdrawn", dedupe_key=f"complaint:{locked.pk}:withdrawn:{now.isoformat()}"
    )
    return locked


def reopen_deadline(complaint: Complaint) -> date | None:
    """The last day a withdrawal may be reopened (``WITHDRAWAL_REOPEN_DAYS`` business days after it)."""
    if complaint.status != Status.WITHDRAWN or complaint.withdrawn_at is None:
        return None
    return business_days.due_date(complaint.withdrawn_at, settings.WITHDRAWAL_REOPEN_DAYS)


def may_reopen(complaint: Complaint) -> bool:
    deadline = reopen_deadline(complaint)
    return deadline is not None and business_days.london_today() <= deadline


@transaction.atomic
def complaint_reopen(*, actor, complaint: Complaint, reason: str, expected_revision: int | None = None) -> Complaint:
    """A complaints lead reopens a withdrawal made by mistake, with the reason, within the allowed time.

    The case returns to the state it was withdrawn from (investigating if a question was open then);
    the due date it was working towards moves on by the business days it was paused, as after an
    answer to a question.
    """
    if not permissions.is_lead(actor):
        raise PermissionDenied("Only a complaints lead can reopen a withdrawn complaint.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the withdrawal is reopened."]})
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    if locked.status != Status.WITHDRAWN:
        raise ValidationError(f"Complaint {locked.reference} is not withdrawn.")
    if not may_reopen(locked):
        raise ValidationError(
            f"Complaint {locked.reference} was withdrawn more than {settings.WITHDRAWAL_REOPEN_DAYS} business days "
            "ago: it cannot be reopened. Log it as a new complaint if the client wants to go on."
        )
    now = timezone.now()
    paused = max(
        business_days.business_days_between(
            business_days.effective_date(locked.clock_stopped_at or locked.withdrawn_at or now),
            business_days.effective_date(now),
        ),
        0,
    )
    target = locked.withdrawn_from or Status.RECEIVED
    due: date | None
    if target == Status.RECEIVED:
        if paused:
            locked.acknowledgement_due = business_days.add_business_days(locked.acknowledgement_due, paused)
        due, what = locked.acknowledgement_due, "acknowledgement"
    else:
        if paused and locked.outcome_due:
            locked.outcome_due = business_days.add_business_days(locked.outcome_due, paused)
        due, what = locked.outcome_due, "written outcome"
    locked.clock_stopped_at = None
    locked.withdrawn_at = None
    locked.withdrawn_from = ""
    locked.withdrawal_reason = ""
    summary = "We reopened your complaint"
    if due:
        summary += f"; our {what} is now due {due:%-d %B %Y}"
    locked.transition(
        target,
        event=Event.REOPENED,
        summary=summary,
        actor=actor,
        client_visible=True,
        at=now,
        fields=[
            "acknowledgement_due",
            "outcome_due",
            "clock_stopped_at",
            "withdrawn_at",
            "withdrawn_from",
            "withdrawal_reason",
        ],
    )
    record_event(
        locked,
        kind=Event.REOPENED,
        summary=f"Withdrawal reopened after {paused} business day{'s' if paused != 1 else ''}: {reason}"[:300],
        actor=actor,
        at=now,
    )
    if target == Status.RECEIVED and _acknowledgement_sent(locked):
        # The acknowledgement went out while the case was withdrawn: the client has it, so it counts from now.
        return complaint_acknowledge(complaint=locked, at=now)
    return locked


def _acknowledgement_sent(complaint: Complaint) -> bool:
    return OutboundMessage.objects.filter(
        dedupe_key=f"complaint:{complaint.pk}:acknowledgement", state=OutboundMessage.State.SENT
    ).exists()


def root_cause_problem(root_cause_id: int | None) -> str:
    """Why this root cause cannot be recorded with an outcome, or "": one of the administrator's active causes,
    required while they keep any (a firm that keeps no list records none)."""
    active = RootCause.objects.filter(active=True)
    if root_cause_id is None:
        return "Choose the root cause: why the complaint arose." if active.exists() else ""
    if not active.filter(pk=root_cause_id).exists():
        return "Choose one of the root causes in the list."
    return ""


def outcome_validate(
    *, outcome: str, findings: str, reasons: str, actions: Sequence[ActionSpec], root_cause_id: int | None = None
) -> None:
    """The rules of an outcome letter (docs/specification.md, outcomes); raises ValidationError with every problem."""
    errors: dict[str, list[str]] = {}
    cause = root_cause_problem(root_cause_id)
    if cause:
        errors["root_cause"] = [cause]
    if outcome not in Complaint.Outcome.values:
        errors.setdefault("outcome", []).append("Choose upheld, partially upheld or not upheld.")
    if not findings.strip():
        errors.setdefault("findings", []).append("Write what the investigation found.")
    if outcome == Complaint.Outcome.NOT_UPHELD and not reasons.strip():
        errors.setdefault("reasons", []).append("When a complaint is not upheld, the letter must give the reasons.")
    if outcome in (Complaint.Outcome.UPHELD, Complaint.Outcome.PARTIALLY_UPHELD) and not actions:
        errors.setdefault("actions", []).append(
            "An upheld complaint needs at least one action: what we will do to put it right or prevent it recurring."
        )
    problems = action_problems(actions)
    if problems:
        errors.setdefault("actions", []).extend(problems)
    if errors:
        raise ValidationError(errors)


def action_problems(actions: Sequence[ActionSpec]) -> list[str]:
    """What is wrong with promised actions (an outcome's or an appeal decision's), one message each."""
    problems = []
    today = business_days.london_today()
    for number, action in enumerate(actions, start=1):
        if action.kind not in Action.Kind.values:
            problems.append(f"Action {number}: choose its kind.")
        if not action.description.strip():
            problems.append(f"Action {number}: describe it.")
        if action.owner is None:
            problems.append(f"Action {number}: give it an owner.")
        if action.due_date is None or action.due_date < today:
            problems.append(f"Action {number}: its due date cannot be in the past.")
        elif not business_days.is_business_day(action.due_date):
            problems.append(
                f"Action {number}: {action.due_date:%A %-d %B %Y} is not a business day: choose a working day."
            )
    return problems


def appeal_deadline_for(issued_at: datetime) -> date:
    """The last day the client may appeal an outcome issued at ``issued_at`` (APPEAL_WINDOW_DAYS business days)."""
    return business_days.add_business_days(business_days.effective_date(issued_at), settings.APPEAL_WINDOW_DAYS)


def outcome_letter_context(*, complaint: Complaint, outcome: str, findings: str, reasons: str, actions, issued_at):
    """What the outcome letter shows; the same for the preview, the letter issued and the letter made again."""
    return {
        "complaint": complaint,
        "outcome": outcome,
        "outcome_label": Complaint.Outcome(outcome).label if outcome in Complaint.Outcome.values else "",
        "findings": findings,
        "reasons": reasons,
        "actions": actions,
        "letter_date": issued_at,
        "appeal_deadline": appeal_deadline_for(issued_at),
        "appeal_window_days": settings.APPEAL_WINDOW_DAYS,
        "appeal_acknowledgement_days": settings.APPEAL_ACKNOWLEDGEMENT_DAYS,
        "appeal_decision_days": settings.APPEAL_DECISION_DAYS,
        "signatory": complaint.assignee,
    }


def outcome_letter_preview(*, actor, complaint: Complaint, outcome, findings, reasons, actions) -> bytes:
    """The PDF the client would receive, rendered from a draft without saving anything."""

    if not permissions.can_work_on(actor, complaint):
        raise PermissionDenied("You do not have a role in this complaint.")
    context = outcome_letter_context(
        complaint=complaint,
        outcome=outcome,
        findings=findings,
        reasons=reasons,
        actions=actions,
        issued_at=timezone.now(),
    )
    return render_pdf("letters/outcome.html", {**context, "is_preview": True})


@transaction.atomic
def complaint_issue_outcome(
    *,
    actor,
    complaint: Complaint,
    outcome: str,
    findings: str,
    reasons: str = "",
    actions: Sequence[ActionSpec] = (),
    root_cause_id: int | None = None,
    lesson: str = "",
    expected_revision: int | None = None,
) -> Complaint:
    """investigating → responded: the written outcome goes to the client, with the letter as a PDF.

    Upheld (or partly): the actions to put things right / prevent recurrence are
    created and tracked. Not upheld: the reasons are required. The letter tells
    the client how to appeal and by when. The root cause and what we learned are for the firm
    (the reports), not the letter.
    """

    outcome_validate(outcome=outcome, findings=findings, reasons=reasons, actions=actions, root_cause_id=root_cause_id)
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    now = timezone.now()
    locked.root_cause_id = root_cause_id
    locked.lesson = lesson.strip()
    locked.outcome = outcome
    locked.findings = findings.strip()
    locked.outcome_reasons = reasons.strip()
    locked.responded_at = now
    locked.responded_by = actor
    locked.appeal_deadline = appeal_deadline_for(now)
    if locked.assignee_id is None:
        locked.assignee = actor
    event = locked.transition(
        Status.RESPONDED,
        event=Event.OUTCOME_ISSUED,
        summary=f"Outcome letter issued: complaint {Complaint.Outcome(outcome).label.lower()}",
        actor=actor,
        client_visible=True,
        at=now,
        fields=[
            "root_cause",
            "lesson",
            "outcome",
            "findings",
            "outcome_reasons",
            "responded_at",
            "responded_by",
            "appeal_deadline",
            "assignee",
        ],
    )
    webhooks.emit(webhooks.OUTCOME_ISSUED, event, locked)
    letter_issue_with_actions(
        complaint=locked,
        actions=actions,
        from_appeal=False,
        letter_kind=OUTCOME_LETTER,
        message_kind="outcome_letter",
        dedupe_key=f"complaint:{locked.pk}:outcome-letter",
        at=now,
    )
    return locked


def letter_issue_with_actions(
    *,
    complaint: Complaint,
    actions: Sequence[ActionSpec],
    from_appeal: bool,
    letter_kind: str,
    message_kind: str,
    dedupe_key: str,
    at: datetime,
) -> Letter:
    """How an outcome and an appeal decision both end: the promised actions, the letter, the email carrying it.

    Called in the transaction of the transition that issued them (which wrote the timeline entry).
    The letter's PDF is made after the commit (``notifications.letters``); the email waits for it.
    """
    for spec in actions:
        if spec.owner is None:
            raise ValueError("An action reached the outcome without an owner (outcome_validate refuses that).")
        Action.objects.create(
            complaint=complaint,
            kind=spec.kind,
            description=spec.description.strip(),
            owner=spec.owner,
            due_date=spec.due_date,
            from_appeal=from_appeal,
        )
    letter = letters.letter_issue(complaint=complaint, kind=letter_kind, at=at)
    message_to_client(complaint, kind=message_kind, dedupe_key=dedupe_key, letter=letter)
    return letter


@transaction.atomic
def action_mark_done(*, actor, action):
    """An action promised in the outcome is done (its owner, or a lead)."""

    locked = Action.objects.select_for_update().select_related("complaint").get(pk=action.pk)
    if not (locked.owner_id == actor.pk or permissions.is_lead(actor)):
        raise PermissionDenied("Only the action's owner or a complaints lead can mark it done.")
    if locked.done_at is not None:
        raise ValidationError("This action is already marked done.")
    locked.done_at = timezone.now()
    locked.done_by = actor
    locked.save(update_fields=["done_at", "done_by"])
    record_event(
        locked.complaint,
        kind=Event.ACTION_DONE,
        summary=f"Action completed: {locked.description[:200]}",
        actor=actor,
        client_visible=True,
    )
    # One email a day at most, listing what was done that day: sent at close of business.
    send_at = actions_digest_moment(locked.done_at)
    message_to_client(
        locked.complaint,
        kind="actions_done",
        dedupe_key=f"complaint:{locked.complaint_id}:actions-done:{send_at:%Y-%m-%d}",
        context={"send_at": send_at.isoformat()},
        send_at=send_at,
    )
    return locked


def actions_digest_moment(done_at: datetime) -> datetime:
    """When the client's email of the actions done that day goes: close of business (London) on the day an
    action was done; one done after close of business goes with the next day's email."""
    local = timezone.localtime(done_at, business_days.LONDON)
    day = local.date() if local.time() < settings.CLOSE_OF_BUSINESS else local.date() + timedelta(days=1)
    return datetime.combine(day, settings.CLOSE_OF_BUSINESS, tzinfo=business_days.LONDON)


# --- Deadline extensions (issue 5): a lead moves a due date on, and the client is told why ----


@transaction.atomic
def complaint_extend_deadline(
    *,
    actor,
    complaint: Complaint,
    new_date: date | None = None,
    reason: str,
    expected_revision: int | None = None,
    by_business_days: int | None = None,
):
    """A complaints lead moves the running due date on, with a reason, before it passes.

    To ``new_date``, or ``by_business_days`` after the due date as it is under the lock (the dashboard's bulk
    extension: one number of days and one reason for several cases, each its own date).

    The client is emailed the reason and the new date (UK complaint-handling
    codes require it); the extension is kept with the old date, the new one,
    the reason, who and the notice, and shows on the timeline. Reminders and
    escalations then follow the new date (a new date is a new notice key).
    """

    if not permissions.is_lead(actor):
        raise PermissionDenied("Only a complaints lead can extend a deadline.")
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    owed = deadlines.owed(locked)
    if owed is not None and owed.holder is not locked:
        # The appeal's promise: lock the appeal's row too, as the appeal's own changes do, and read it again.
        locked.appeal = type(owed.holder).objects.select_for_update().get(pk=owed.holder.pk)
        owed = deadlines.owed(locked)
    if owed is None:
        raise ValidationError(f"Complaint {locked.reference} has no deadline running that could be extended.")
    deadline, holder, due_field = owed.deadline, owed.holder, owed.due_field
    old_date = owed.due
    today = business_days.london_today()
    if old_date is None:
        raise ValidationError(
            {"new_date": ["This deadline has no date yet: it starts when the acknowledgement goes out."]}
        )
    if by_business_days is not None:
        if by_business_days < 1:
            raise ValidationError({"new_date": ["Extend by at least one business day."]})
        new_date = business_days.add_business_days(old_date, by_business_days)
    errors: dict[str, list[str]] = {}
    if today > old_date:
        errors["new_date"] = [
            (
                f"The {Deadline(deadline).label} was due {old_date:%-d %B %Y} and that date has passed: "
                "a deadline can only be extended before it is missed."
            )
        ]
    elif new_date is None or new_date <= old_date:
        errors["new_date"] = [f"Choose a date after the current due date, {old_date:%-d %B %Y}."]
    elif not business_days.is_business_day(new_date):
        errors["new_date"] = [f"{new_date:%A %-d %B %Y} is not a business day: choose a working day."]
    if not reason.strip():
        errors["reason"] = ["Give the reason: the client is told it, word for word."]
    if errors or new_date is None:
        raise ValidationError(errors)
    setattr(holder, due_field, new_date)
    holder.save_change(due_field)
    if holder is not locked:
        locked.save_change()  # the appeal's date is on the case page too: a form opened before is stale
    key = f"complaint:{locked.pk}:extension:{deadline}:{old_date}:{new_date}" if locked.email_recipients else ""
    extension = Extension.objects.create(
        complaint=locked,
        deadline=deadline,
        old_date=old_date,
        new_date=new_date,
        reason=reason.strip(),
        extended_by=actor,
        notice_key=key,
    )
    told = (
        "the client has been emailed the reason"
        if key
        else "the client has no email address: tell them by phone or post"
    )
    record_event(
        locked,
        kind=Event.DEADLINE_EXTENDED,
        summary=f"Due date of the {Deadline(deadline).label} extended from {old_date:%-d %B %Y} to "
        f"{new_date:%-d %B %Y} ({told}). Reason: {extension.reason}",
        actor=actor,
        client_visible=True,
    )
    if key:
        message_to_client(locked, kind="deadline_extension", dedupe_key=key, context={"extension_id": extension.pk})
    return extension


@transaction.atomic
def complaint_revoke_client_links(*, actor, complaint: Complaint, expected_revision: int | None = None) -> Complaint:
    """Make every secure link sent to the client so far stop working (a forwarded or leaked email).

    The client can still ask, on the page an old link opens, for a fresh link
    emailed to the address on the case, and nowhere else.
    """
    locked = _lock(complaint=complaint, actor=actor, expected_revision=expected_revision)
    _revoke_links(locked, actor=actor, why="a fresh one goes only to the case's addresses")
    return locked


def _revoke_links(locked: Complaint, *, actor, why: str) -> None:
    """Every secure link sent so far stops working (``cases.links``: the version in the token is old), the links of
    the duplicates merged into the case included (they lead here)."""
    locked.client_link_version += 1
    locked.save_change("client_link_version")
    locked.duplicates.update(
        client_link_version=F("client_link_version") + 1, revision=F("revision") + 1, updated_at=timezone.now()
    )
    record_event(
        locked,
        kind=Event.STATUS_CHANGED,
        summary=f"Every secure link sent to the client so far was revoked ({why})",
        actor=actor,
    )
