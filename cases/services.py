"""Complaint workflows: each one a keyword-only function that owns its transaction.

The model (``Complaint.transition_to``) guards the state rule; these functions
lock the row, check who may act, save, record the event and queue the messages,
all in one transaction. Views, admin actions and tasks call them and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cases import business_days, links
from cases.models import Attachment, Complaint, ComplaintEvent, ReferenceCounter
from cases.references import format_reference
from cases.uploads import ValidatedUpload

Status = Complaint.Status
Event = ComplaintEvent.Kind

CLIENT = "Client"
SYSTEM = "System"
# A client may ask for a fresh link at most once in this period (no mail bombing).
FRESH_LINK_INTERVAL = timedelta(minutes=10)


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

    @classmethod
    def from_mapping(cls, data) -> ComplaintDetails:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def as_model_fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def actor_label(user) -> str:
    if user is None:
        return SYSTEM
    return user.get_full_name() or user.get_username()


def record_event(
    complaint: Complaint,
    *,
    kind: str,
    summary: str,
    actor=None,
    label: str | None = None,
    client_visible: bool = False,
    from_status: str = "",
    to_status: str = "",
    at: datetime | None = None,
) -> ComplaintEvent:
    """Add one entry to the case's timeline (call inside the change's transaction)."""
    return ComplaintEvent.objects.create(
        complaint=complaint,
        kind=kind,
        summary=summary[:300],
        actor=actor,
        actor_label=label or actor_label(actor),
        client_visible=client_visible,
        from_status=from_status,
        to_status=to_status,
        created_at=at or timezone.now(),
    )


def next_reference(year: int) -> str:
    """Take the next reference number of ``year``; call inside a transaction.

    The counter row's lock (taken by the UPDATE) is held until commit, so two
    submissions can never get the same number, on PostgreSQL or SQLite.
    """
    if not ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1):
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(year=year, last=1)
        except IntegrityError:
            # Another submission created the year's row first: take a number from it.
            ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
    sequence = ReferenceCounter.objects.values_list("last", flat=True).get(year=year)
    return format_reference(year, sequence)


def _create_complaint(
    *,
    details: ComplaintDetails,
    channel: str,
    received_at: datetime,
    files: Sequence[ValidatedUpload],
    logged_by=None,
) -> Complaint:
    complaint = Complaint.objects.create(
        reference=next_reference(business_days.london_date(received_at).year),
        channel=channel,
        received_at=received_at,
        acknowledgement_due=business_days.due_date(received_at, settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS),
        logged_by=logged_by,
        **details.as_model_fields(),
    )
    for upload in files:
        attachment_add(
            complaint=complaint,
            upload=upload,
            source=Attachment.Source.STAFF if logged_by else Attachment.Source.CLIENT,
            uploaded_by=logged_by,
            record=False,
        )
    return complaint


def attachment_add(*, complaint: Complaint, upload: ValidatedUpload, source: str, uploaded_by=None, record=True):
    """Keep a validated document on the case, in private storage."""
    upload.file.seek(0)
    attachment = Attachment(
        complaint=complaint,
        original_name=upload.original_name[:255],
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
        source=source,
        uploaded_by=uploaded_by,
    )
    attachment.file.save(upload.original_name, File(upload.file), save=False)
    attachment.save()
    if record:
        record_event(
            complaint,
            kind=Event.ATTACHMENT_ADDED,
            summary=f"Document added: {attachment.original_name}",
            actor=uploaded_by,
            label=None if uploaded_by else CLIENT,
            client_visible=True,
        )
    return attachment


def _queue_acknowledgement(complaint: Complaint) -> None:
    from notifications.services import message_queue

    message_queue(
        kind="complaint_acknowledgement",
        dedupe_key=f"complaint:{complaint.pk}:acknowledgement",
        to_email=complaint.email,
        complaint=complaint,
    )


@transaction.atomic
def complaint_submit(*, details: ComplaintDetails, files: Sequence[ValidatedUpload] = ()) -> Complaint:
    """A client files a complaint on the public form.

    The complaint, its documents, its first timeline entry and the outbox row of
    its acknowledgement are saved together; the email is sent after commit.
    """
    if not details.email:
        raise ValidationError("An email address is needed to acknowledge a complaint filed online.")
    received_at = timezone.now()
    complaint = _create_complaint(details=details, channel=Complaint.Channel.WEB, received_at=received_at, files=files)
    record_event(
        complaint,
        kind=Event.SUBMITTED,
        summary="Complaint received through the website",
        label=CLIENT,
        client_visible=True,
        to_status=Status.RECEIVED,
        at=received_at,
    )
    if files:
        names = ", ".join(upload.original_name for upload in files)
        record_event(
            complaint,
            kind=Event.ATTACHMENT_ADDED,
            summary=f"Documents sent with the complaint: {names}",
            label=CLIENT,
            client_visible=True,
            at=received_at,
        )
    _queue_acknowledgement(complaint)
    return complaint


@transaction.atomic
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
    complaint = _create_complaint(
        details=details, channel=channel, received_at=received_at, files=files, logged_by=actor
    )
    record_event(
        complaint,
        kind=Event.LOGGED,
        summary=f"Complaint received by {Complaint.Channel(channel).label.lower()}",
        actor=actor,
        client_visible=True,
        to_status=Status.RECEIVED,
        at=received_at,
    )
    if files:
        names = ", ".join(upload.original_name for upload in files)
        record_event(complaint, kind=Event.ATTACHMENT_ADDED, summary=f"Documents filed: {names}", actor=actor)
    if complaint.email:
        _queue_acknowledgement(complaint)
    else:
        acknowledgement_letter_issue(complaint=complaint, actor=actor)
    return complaint


def complaint_acknowledge(*, complaint: Complaint, at: datetime, actor=None, how: str = "email") -> Complaint:
    """received → acknowledged. The investigation's 10 business days run from here.

    Called inside the transaction that sends the acknowledgement (email or letter),
    so the case is acknowledged if and only if the acknowledgement went out.
    """
    with transaction.atomic():
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
        old = locked.transition_to(Status.ACKNOWLEDGED)
        locked.acknowledged_at = at
        locked.outcome_due = business_days.due_date(at, settings.COMPLAINT_OUTCOME_DAYS)
        locked.save(update_fields=["status", "acknowledged_at", "outcome_due", "updated_at"])
        record_event(
            locked,
            kind=Event.ACKNOWLEDGED,
            summary=f"Complaint acknowledged by {how}; reference {locked.reference} given",
            actor=actor,
            client_visible=True,
            from_status=old,
            to_status=Status.ACKNOWLEDGED,
            at=at,
        )
    complaint.refresh_from_db()
    return complaint


def acknowledgement_letter_issue(*, complaint: Complaint, actor):
    """Make the printable acknowledgement letter for a client without email, and acknowledge."""
    from notifications.models import Letter
    from notifications.rendering import render_pdf

    now = timezone.now()
    complaint_acknowledge(complaint=complaint, at=now, actor=actor, how="letter")
    pdf = render_pdf("letters/acknowledgement.html", {"complaint": complaint, "letter_date": now})
    letter = Letter(complaint=complaint, kind=Letter.Kind.ACKNOWLEDGEMENT, created_at=now)
    letter.file.save(f"{complaint.public_id}-acknowledgement.pdf", ContentFile(pdf), save=False)
    letter.save()
    record_event(
        complaint,
        kind=Event.LETTER_ISSUED,
        summary="Acknowledgement letter produced for posting",
        actor=actor,
        client_visible=True,
    )
    return letter


# --- Hooks called by notifications when a message is being sent ------------------


def complaint_prepare_acknowledgement(message) -> dict:
    """Acknowledge the complaint as its acknowledgement email goes out.

    Runs inside the sending transaction: if the email fails, the case stays
    ``received`` and the acknowledgement is retried.
    """
    complaint = message.complaint
    if complaint.status == Status.RECEIVED:
        complaint = complaint_acknowledge(complaint=complaint, at=timezone.now())
    return {"complaint": complaint, "tracking_url": links.client_url(complaint)}


def complaint_prepare_client_link(message) -> dict:
    return {"complaint": message.complaint, "tracking_url": links.client_url(message.complaint)}


def complaint_send_fresh_link(*, complaint: Complaint) -> bool:
    """Email a new tracking link to the address on the case (and nowhere else).

    At most one per ``FRESH_LINK_INTERVAL``, so the page cannot be used to flood
    a client's inbox. Returns whether a link was queued.
    """
    from notifications.services import message_queue

    if not complaint.email:
        return False
    bucket = int(timezone.now().timestamp() // FRESH_LINK_INTERVAL.total_seconds())
    with transaction.atomic():
        message = message_queue(
            kind="client_link",
            dedupe_key=f"complaint:{complaint.pk}:client-link:{bucket}",
            to_email=complaint.email,
            complaint=complaint,
        )
    return message.state == message.State.PENDING
