"""Retention and data-subject rights (docs/specification.md, "Confidentiality and data protection"; UK GDPR).

* ``complaints_due_for_anonymisation``: cases closed or withdrawn more than
  ``RETENTION_YEARS`` ago whose personal data is still held.
* ``complaints_anonymise``: remove the personal data of a set of cases, set-based
  (a fixed number of statements per batch, whatever its size). What goes: the
  client's details and every free text that may quote them (the complaint, the
  findings and reasons, the appeal's texts, notes, questions and answers, the
  client's messages and our updates, action and extension texts, timeline
  summaries, the emails we sent), and every document and letter (rows, and the
  files once the transaction commits; a document another case still holds a copy
  of, merged from its duplicate, stays for that case). What stays: what
  the reports count (dates, channel, category, outcome, status, the appeal's dates
  and decision, actions' and extensions' dates and kinds, the timeline's kinds,
  statuses and times, the satisfaction survey's scores without its comment). Each case gets an
  ``anonymised`` event naming no one, and ``anonymised_at``; its secure links (and its survey's) stop working.
* ``retention_sweep``: the daily beat task's work, batch after batch.
* ``complaint_anonymise_on_request``: a complaints lead, for one case, with a reason.
* ``subject_access_export``: everything held about an email address, for a lead to send on.

The audit trail (``audit``) is not touched: it records staff, never the client's details.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, CharField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from appeals.models import Appeal
from cases import permissions
from cases.models import (
    CLIENT_ROLE,
    REPRESENTATIVE_ROLE,
    Action,
    Attachment,
    ClientMessage,
    ClientUpdate,
    Complaint,
    ComplaintEvent,
    Extension,
    InformationRequest,
    Note,
    actor_label,
)
from jpdit_complaints.log_privacy import mask
from jpdit_complaints.storage import STORAGE_UNAVAILABLE, private_storage
from notifications.models import Letter, OutboundMessage
from satisfaction.models import SurveyOptOut, address_digest
from satisfaction.services import surveys_anonymise

logger = logging.getLogger(__name__)

ANONYMISED = "Anonymised"
BATCH_SIZE = 200
FINISHED = (Complaint.Status.CLOSED, Complaint.Status.WITHDRAWN, *Complaint.CLOSED_WITHOUT_OUTCOME)
Event = ComplaintEvent.Kind


def years_before(moment: datetime, years: int) -> datetime:
    """The same date and time ``years`` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def retention_cutoff(now: datetime | None = None) -> datetime:
    return years_before(now or timezone.now(), settings.RETENTION_YEARS)


def complaints_due_for_anonymisation(now: datetime | None = None):
    """Closed or withdrawn cases, still holding personal data, that finished before the cutoff.

    A case finished when its last event moved it to closed or withdrawn (a late
    appeal reopens a closed case, and its closing again restarts the period); a
    case without such an event counts from its last change.
    """
    finished_at = (
        ComplaintEvent.objects.filter(complaint=OuterRef("pk"), to_status__in=FINISHED)
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    return (
        Complaint.objects.filter(status__in=FINISHED, anonymised_at__isnull=True)
        .annotate(finished_at=Coalesce(Subquery(finished_at), F("updated_at")))
        .filter(finished_at__lt=retention_cutoff(now))
        .order_by("pk")
    )


def _delete_files(names: list[str]) -> None:
    storage = private_storage()
    for name in names:
        try:
            storage.delete(name)
        except STORAGE_UNAVAILABLE as error:
            # The name is a random storage path, never the client's file name.
            logger.warning("could not delete an anonymised case's file %s (%s)", name, type(error).__name__)


def complaints_anonymise(
    complaint_ids: Iterable[int], *, summary: str, actor=None, now: datetime | None = None
) -> list[int]:
    """Remove the personal data of these cases (those not anonymised yet); returns the ids done.

    One transaction; the rows are locked first, so two runs never do a case twice.
    Files are deleted from storage only after the commit (a rollback keeps them).
    """

    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Complaint.objects.select_for_update()
            .filter(pk__in=list(complaint_ids), anonymised_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        in_cases = Q(complaint_id__in=ids)
        files = [name for name in Attachment.objects.filter(in_cases).values_list("file", flat=True) if name]
        # A document copied to another case when its duplicate was merged (one stored file, a row on each case)
        # stays while that other case keeps its row.
        shared = set(Attachment.objects.filter(file__in=files).exclude(in_cases).values_list("file", flat=True))
        files = [name for name in files if name not in shared]
        files += [name for name in Letter.objects.filter(in_cases).values_list("file", flat=True) if name]
        # The messages that carried a letter keep their row (SET_NULL); the letters and documents go.
        Letter.objects.filter(in_cases).delete()
        Attachment.objects.filter(in_cases).delete()

        Complaint.objects.filter(pk__in=ids).update(
            name=ANONYMISED,
            email="",
            phone="",
            organisation="",
            postal_address="",
            representative_name="",
            representative_relationship="",
            representative_email="",
            representative_phone="",
            representative_address="",
            consent_note="",
            consent_given_on=None,
            consent_document=None,
            correspondence_to=Complaint.Correspondence.CLIENT,
            description=ANONYMISED,
            desired_outcome="",
            findings="",
            outcome_reasons="",
            lesson="",  # staff's words, which may quote the client; the root cause stays for the figures
            anonymised_at=now,
            # Every secure link the client holds stops working; open forms are out of date.
            client_link_version=F("client_link_version") + 1,
            revision=F("revision") + 1,
        )
        # A decided appeal must keep non-empty reasons (a database constraint): a placeholder.
        Appeal.objects.filter(in_cases).update(
            reasons=ANONYMISED,
            late_reason="",
            decision_reasons=Case(When(decision_reasons="", then=Value("")), default=Value(ANONYMISED)),
            recommendations="",
            new_lesson="",
        )
        Note.objects.filter(in_cases).update(text=ANONYMISED)
        ClientMessage.objects.filter(in_cases).update(text=ANONYMISED, from_address="", document_names=[])
        ClientUpdate.objects.filter(in_cases).update(text=ANONYMISED)
        surveys_anonymise(ids)
        InformationRequest.objects.filter(in_cases).update(
            message=ANONYMISED, answer=Case(When(answer="", then=Value("")), default=Value(ANONYMISED))
        )
        Action.objects.filter(in_cases).update(description=ANONYMISED)
        Extension.objects.filter(in_cases).update(reason=ANONYMISED)
        # Summaries may quote file names, reasons, action texts: each becomes its kind's plain label.
        ComplaintEvent.objects.filter(in_cases).update(
            summary=Case(
                *[When(kind=kind, then=Value(label)) for kind, label in Event.choices],
                default=Value(ANONYMISED),
                output_field=CharField(),
            )
        )
        # The emails (a webhook delivery keeps no personal data: it goes on, and its endpoint is told
        # only what the case still holds, notifications.webhooks).
        OutboundMessage.objects.filter(in_cases, endpoint__isnull=True).update(
            to_email="",
            subject="",
            body_text="",
            body_html="",
            context={},
            # Nothing still waiting goes out to an address we no longer hold.
            state=Case(
                When(state=OutboundMessage.State.PENDING, then=Value(OutboundMessage.State.FAILED)),
                default=F("state"),
                output_field=CharField(),
            ),
            last_error=Case(
                When(state=OutboundMessage.State.PENDING, then=Value("Not sent: the case was anonymised")),
                default=F("last_error"),
                output_field=CharField(),
            ),
        )
        label = actor_label(actor) if actor is not None else "System"
        ComplaintEvent.objects.bulk_create(
            ComplaintEvent(
                complaint_id=pk,
                kind=Event.ANONYMISED,
                summary=summary[:300],
                actor=actor,
                actor_label=label,
                client_visible=False,
                created_at=now,
            )
            for pk in ids
        )
        transaction.on_commit(lambda: _delete_files(files))
    return ids


def retention_sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Anonymise every case past its retention period, ``batch_size`` cases per transaction."""
    now = now or timezone.now()
    summary = f"Personal data removed: the case closed more than {settings.RETENTION_YEARS} years ago"
    done = 0
    while True:
        batch = list(complaints_due_for_anonymisation(now).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return done
        anonymised = complaints_anonymise(batch, summary=summary, now=now)
        done += len(anonymised)
        if not anonymised:  # another run took this batch between our read and our lock
            continue


def complaint_anonymise_on_request(*, actor, complaint: Complaint, reason: str) -> Complaint:
    """A complaints lead removes one case's personal data at the client's request, with the reason.

    The reason goes on the timeline, so it must not quote the client's details.
    """
    if not permissions.is_lead(actor):
        raise PermissionDenied("Only a complaints lead may anonymise a case.")
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": "Say why the case is anonymised (for example: the client asked on 3 May)."})
    if complaint.anonymised_at is not None:
        raise ValidationError("This case was anonymised already.")
    folded = reason.casefold()
    quoted = [
        value
        for value in (
            complaint.name,
            complaint.email,
            complaint.phone,
            complaint.representative_name,
            complaint.representative_email,
            complaint.representative_phone,
        )
        if value and value.casefold() in folded
    ]
    if quoted:
        raise ValidationError(
            {"reason": "Write the reason without the client's name, email address or phone number: it is kept."}
        )
    done = complaints_anonymise(
        [complaint.pk], summary=f"Personal data removed at the client's request. Reason: {reason}", actor=actor
    )
    if not done:
        raise ValidationError("This case was anonymised already.")
    complaint.refresh_from_db()
    return complaint


# --- Subject access ---------------------------------------------------------------------------


def _when(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(microsecond=0).isoformat()
    return value.isoformat()


def _person(user, fallback: str = "") -> str:
    if user is None:
        return fallback
    return user.get_full_name() or user.get_username()


def subject_access_export(*, email: str, now: datetime | None = None) -> dict:
    """Everything held about the person with this email address, as plain JSON-safe data.

    Every complaint with that address (case-insensitive), each with its details,
    its whole timeline (what the client sees and what is internal), internal notes,
    questions and answers, documents and letters (listed), actions, extensions, the
    appeal, the satisfaction survey (its answers, to whom it went), the emails sent to that address, and
    whether the address declined surveys. A fixed number of queries.
    """

    email = email.strip()
    if not email:  # cases logged without an address are nobody's by email
        return {
            "email": "",
            "produced_at": _when(now or timezone.now()),
            "produced_by": settings.COMPANY["name"],
            "complaints": [],
        }
    complaints = list(
        Complaint.objects.filter(Q(email__iexact=email) | Q(representative_email__iexact=email))
        .select_related("category", "assignee", "appeal", "consent_document", "survey")
        .prefetch_related("events", "notes__author", "information_requests", "attachments", "actions", "extensions")
        .order_by("received_at", "pk")
    )
    ids = [c.pk for c in complaints]
    letters: dict[int, list] = {}
    for letter in Letter.objects.filter(complaint_id__in=ids).order_by("created_at", "pk"):
        letters.setdefault(letter.complaint_id, []).append(letter)
    messages: dict[int | None, list] = {}
    for message in OutboundMessage.objects.filter(complaint_id__in=ids, to_email__iexact=email).order_by(
        "created_at", "pk"
    ):
        messages.setdefault(message.complaint_id, []).append(message)

    def appeal_of(complaint):
        try:
            appeal = complaint.appeal
        except Appeal.DoesNotExist:
            return None
        return {
            "received_at": _when(appeal.received_at),
            "channel": appeal.get_channel_display(),
            "status": appeal.get_status_display(),
            "reasons": appeal.reasons,
            "late_reason": appeal.late_reason,
            "acknowledged_at": _when(appeal.acknowledged_at),
            "decision_due": _when(appeal.decision_due),
            "decision": appeal.get_decision_display() if appeal.decision else "",
            "decision_reasons": appeal.decision_reasons,
            "recommendations": appeal.recommendations,
            "decided_at": _when(appeal.decided_at),
        }

    def representative_of(c: Complaint) -> dict | None:
        if not c.has_representative:
            return None
        return {
            "name": c.representative_name,
            "relationship": c.representative_relationship,
            "email": c.representative_email,
            "phone": c.representative_phone,
            "postal_address": c.representative_address,
            "consent": c.consent_note,
            "consent_given_on": _when(c.consent_given_on),
            "consent_document": c.consent_document.original_name if c.consent_document else "",
            "letters_and_emails_go_to": c.get_correspondence_to_display(),
        }

    def emails_to_requester(c: Complaint) -> list[dict]:
        return [
            {
                "what": m.get_kind_display(),
                "to": m.to_email,
                "subject": m.subject,
                "state": m.get_state_display(),
                "queued_at": _when(m.created_at),
                "sent_at": _when(m.sent_at),
                "text": m.body_text,
            }
            for m in messages.get(c.pk, [])
        ]

    def survey_answers(c: Complaint, role: str) -> dict | None:
        """The satisfaction survey of the case, when it went to the requester (``role``): when, and their answers."""
        try:
            survey = c.survey
        except ObjectDoesNotExist:
            return None
        if survey.recipient != role:
            return None
        return {
            "sent_at": _when(survey.created_at),
            "answered_at": _when(survey.answered_at),
            "answers": [
                {"question": question, "answer": getattr(survey, name)} for name, question in survey.QUESTIONS.items()
            ],
            "comment": survey.comment,
        }

    def as_representative(c: Complaint) -> dict:
        """A case where the requester is the representative, not the client: what is held about them, and
        not the client's own complaint (theirs to ask for)."""
        return {
            "reference": c.reference,
            "status": c.get_status_display(),
            "received_at": _when(c.received_at),
            "you_represent": c.name,
            "representative": representative_of(c),
            "emails_sent_to_you": emails_to_requester(c),
            "satisfaction_survey": survey_answers(c, REPRESENTATIVE_ROLE),
        }

    def one(c: Complaint) -> dict:
        if c.email.strip().lower() != email.lower():
            return as_representative(c)
        return {
            "reference": c.reference,
            "status": c.get_status_display(),
            "channel": c.get_channel_display(),
            "received_at": _when(c.received_at),
            "your_details": {
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "organisation": c.organisation,
                "preferred_contact": c.get_preferred_contact_display(),
                "postal_address": c.postal_address,
            },
            "representative": representative_of(c),
            "complaint": {
                "incident_date": _when(c.incident_date),
                "description": c.description,
                "desired_outcome": c.desired_outcome,
                "category": c.category.name if c.category else "",
            },
            "handled_by": _person(c.assignee),
            "acknowledged_at": _when(c.acknowledged_at),
            "outcome": {
                "outcome": c.get_outcome_display() if c.outcome else "",
                "findings": c.findings,
                "reasons": c.outcome_reasons,
                "responded_at": _when(c.responded_at),
                "appeal_deadline": _when(c.appeal_deadline),
            },
            "timeline": [
                {
                    "at": _when(e.created_at),
                    "what": e.get_kind_display(),
                    "summary": e.summary,
                    "by": e.actor_label,
                    "shown_to_client": e.client_visible,
                }
                for e in c.events.all()
            ],
            "internal_notes": [
                {"at": _when(n.created_at), "by": _person(n.author), "text": n.text} for n in c.notes.all()
            ],
            "information_requests": [
                {
                    "asked_at": _when(r.requested_at),
                    "question": r.message,
                    "answered_at": _when(r.answered_at),
                    "answer": r.answer,
                }
                for r in c.information_requests.all()
            ],
            "documents": [
                {
                    "name": a.original_name,
                    "type": a.content_type,
                    "bytes": a.size,
                    "from": a.get_source_display(),
                    "with_appeal": a.for_appeal,
                    "at": _when(a.uploaded_at),
                }
                for a in c.attachments.all()
            ],
            "letters": [
                {"letter": letter.get_kind_display(), "at": _when(letter.created_at)}
                for letter in letters.get(c.pk, [])
            ],
            "actions": [
                {
                    "kind": a.get_kind_display(),
                    "description": a.description,
                    "due": _when(a.due_date),
                    "done_at": _when(a.done_at),
                }
                for a in c.actions.all()
            ],
            "extensions": [
                {
                    "deadline": x.get_deadline_display(),
                    "from": _when(x.old_date),
                    "to": _when(x.new_date),
                    "reason": x.reason,
                    "at": _when(x.created_at),
                }
                for x in c.extensions.all()
            ],
            "appeal": appeal_of(c),
            "emails_sent_to_you": emails_to_requester(c),
            "satisfaction_survey": survey_answers(c, CLIENT_ROLE),
        }

    declined = SurveyOptOut.objects.filter(digest=address_digest(email)).first()
    return {
        "email": email,
        "produced_at": _when(now or timezone.now()),
        "produced_by": settings.COMPANY["name"],
        # The address asked for no more satisfaction surveys (kept as a digest of the address, not the address).
        "declined_satisfaction_surveys_on": _when(declined.created_at) if declined else None,
        "complaints": [_without_links(one(c)) for c in complaints],
    }


def _without_links(value):
    """``value`` with every client link's token masked, as the logs do: the copies of emails are stored
    masked already (``notifications.services._mark_sent``), and a link the client pasted into a message of
    their own must not leave in an export either (whoever holds the file could act as the client)."""
    if isinstance(value, dict):
        return {key: _without_links(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_links(item) for item in value]
    return mask(value)
