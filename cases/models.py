"""Complaints, their events and attachments, and the company's closure days.

The complaint's state machine is data on the model (``Complaint.TRANSITIONS``). A status
changes only through ``transition()`` (``StateMachine``): it refuses anything the table does
not allow, saves the row and writes the timeline event in the caller's transaction, so no
service can forget the event; ``save()`` refuses a status changed any other way. The
services in ``cases.services`` lock the row, check who may act, own the transaction and
queue the messages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.utils import timezone

from cases import business_days, deadlines, permissions
from cases.deadlines import Deadline
from jpdit_complaints.storage import private_storage


class TransitionNotAllowed(Exception):
    """A state change the procedure does not allow from the case's current state."""

    def __init__(self, case, target: str) -> None:
        # ``case`` is a Complaint or an Appeal: anything with a Status table and a reference.
        current = type(case).Status(case.status).label
        wanted = type(case).Status(target).label
        noun = "Complaint" if isinstance(case, Complaint) else "The appeal on"
        super().__init__(f"{noun} {case.reference} is {current.lower()}; it cannot become {wanted.lower()}.")
        self.current = case.status
        self.target = target


class StatusChangedOutsideTransition(Exception):
    """A status set directly and saved: only ``StateMachine.transition`` may change it."""


def actor_label(user) -> str:
    """How the timeline names who acted: a member of staff's name, or "System"."""
    if user is None:
        return SYSTEM
    return user.get_full_name() or user.get_username()


# How the timeline names the client and the product itself.
CLIENT = "Client"
SYSTEM = "System"


CLIENT_ROLE = "client"
REPRESENTATIVE_ROLE = "representative"


@dataclass(frozen=True)
class Correspondent:
    """Someone a case's letters and emails go to: the client, or their representative."""

    role: str
    name: str
    email: str
    address: str

    @property
    def is_representative(self) -> bool:
        return self.role == REPRESENTATIVE_ROLE

    def outbox_key(self, dedupe_key: str) -> str:
        """The outbox key of this person's copy of an email: the client's keeps the email's own key."""
        return f"{dedupe_key}:representative" if self.is_representative else dedupe_key


# What ``Complaint.correspondents`` reads: load these (``only()``) to address a case's emails.
RECIPIENT_FIELDS = (
    "name",
    "email",
    "postal_address",
    "representative_name",
    "representative_email",
    "representative_address",
    "correspondence_to",
)


class StateMachine(models.Model):
    """A model whose ``status`` follows its table ``TRANSITIONS`` and changes only through ``transition``.

    As django-oscar's ``Order.set_status``: the transition checks the table, saves the row and
    writes the event row in one step, inside the transaction of the service that called it.
    """

    TRANSITIONS: ClassVar[dict[str, tuple[str, ...]]]
    # The status as last read or saved, and whether ``transition`` is saving (not fields: plain attributes).
    _status_saved: str | None = None
    _in_transition: bool = False

    # Every state machine has these; each model declares them again where they belong among its fields
    # (``status`` with its own choices).
    status = models.CharField(max_length=20)
    revision = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        saved = getattr(self, "_status_saved", None)
        if saved is not None and self.status != saved and not getattr(self, "_in_transition", False):
            raise StatusChangedOutsideTransition(
                f"{type(self).__name__} {self.pk}: status {saved!r} → {self.status!r} outside transition()"
            )
        super().save(*args, **kwargs)
        self._status_saved = self.status

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().from_db(*args, **kwargs)
        instance._status_saved = instance.__dict__.get("status")
        return instance

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._status_saved = self.__dict__.get("status")

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]

    def save_change(self, *fields: str) -> None:
        """Save a change that is not a status change, bumping ``revision``: a form opened before is stale."""
        self.revision += 1
        self.save(update_fields=[*fields, "revision", "updated_at"])

    def transition(
        self,
        target: str,
        *,
        event: str,
        summary: str,
        actor=None,
        label: str | None = None,
        client_visible: bool = False,
        at: datetime | None = None,
        fields: Iterable[str] = (),
    ) -> ComplaintEvent:
        """Move to ``target`` if the procedure allows it, save it (with ``fields`` changed beside it) and record it.

        Call inside the service's transaction, with the row locked. Bumps ``revision`` (a form opened
        before is then stale). Returns the timeline event written.
        """
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("A transition must run inside the transaction of the service that locked the row.")
        if not self.can_transition_to(target):
            raise TransitionNotAllowed(self, target)
        old, self.status = self.status, target
        self.revision += 1
        self._in_transition = True
        try:
            self.save(update_fields=["status", "revision", "updated_at", *fields])
        finally:
            self._in_transition = False
        return self.record_transition(
            old,
            target,
            kind=event,
            summary=summary,
            actor=actor,
            label=label,
            client_visible=client_visible,
            at=at,
        )

    def record_transition(self, old: str, new: str, **event) -> ComplaintEvent:
        raise NotImplementedError


class ClosureDay(models.Model):
    """A weekday the company is closed (besides bank holidays): no deadline falls on it."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, help_text="For example: office move, Christmas shutdown.")

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%a %d %b %Y}: {self.reason}"


class ReferenceCounter(models.Model):
    """The last sequence number given out in a year; its row lock serialises new references."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Category(models.Model):
    """What a complaint is about (kept in the admin; used for reports and root causes)."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    """Why a complaint arose, as the investigation found it (kept in the admin): what the firm must change.

    Separate from the category (what the complaint is about). While the administrator keeps any active root
    cause, every outcome names one (``cases.services.root_cause_problem``); the reports count them over time.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, help_text="Shown to staff choosing it: when this is the cause.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ComplaintQuerySet(models.QuerySet["Complaint", "Complaint"]):
    """Set-based facts about complaints, so lists and sweeps never loop in Python."""

    def visible_to(self, user) -> Self:
        """The cases a staff member has a role in (docs/specification.md: nobody sees other cases)."""
        return permissions.visible_complaints(self, user)

    def with_current_due(self) -> Self:
        """Annotate ``current_due``: the date the running promise falls due (``cases.deadlines``)."""
        return self.annotate(current_due=deadlines.current_due_expression(deadlines.COMPLAINT_CLOCKS))

    def transition_all(
        self,
        target: str,
        *,
        source: str,
        event: str,
        summary: Callable[[Complaint], str],
        at: datetime,
        client_visible: bool = False,
    ) -> list[Complaint]:
        """Move every case here that is in ``source`` to ``target``: ``transition`` for many cases at once.

        The rows are locked, changed by one compare-and-set UPDATE whose row count is checked, and
        each gets its timeline event (actor "System"). Cases that left ``source`` before the lock
        are left alone and not returned. Call inside the caller's transaction.
        """
        if target not in Complaint.TRANSITIONS[source]:
            raise ValueError(f"The procedure does not allow a complaint to go from {source} to {target}.")
        cases: list[Complaint] = list(self.filter(status=source).select_for_update())
        changed = Complaint.objects.filter(pk__in=[case.pk for case in cases], status=source).update(
            status=target, revision=models.F("revision") + 1, updated_at=at
        )
        if changed != len(cases):
            raise RuntimeError(f"{len(cases)} locked case(s) were to become {target}, but {changed} did.")
        ComplaintEvent.objects.bulk_create(
            ComplaintEvent(
                complaint_id=case.pk,
                kind=event,
                from_status=source,
                to_status=target,
                summary=summary(case)[:300],
                actor_label=SYSTEM,
                client_visible=client_visible,
                created_at=at,
            )
            for case in cases
        )
        return cases

    def overdue(self, today: date) -> Self:
        return self.filter(deadlines.due_q(deadlines.COMPLAINT_CLOCKS, lt=today))

    def due_by(self, day: date) -> Self:
        return self.filter(deadlines.due_q(deadlines.COMPLAINT_CLOCKS, lte=day))


class Complaint(StateMachine):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        INVESTIGATING = "investigating", "Under investigation"
        AWAITING_CLIENT = "awaiting_client", "Waiting for information from the client"
        RESPONDED = "responded", "Responded"
        UNDER_APPEAL = "under_appeal", "Under appeal"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn"
        # Closed by a complaints lead without an outcome: an enquiry, spam, a duplicate (kept out of the figures).
        NOT_A_COMPLAINT = "not_a_complaint", "Closed: not a complaint"
        # Closed by a complaints lead as a duplicate joined to its main case (``merged_into``): out of the figures;
        # its documents and the client's messages were copied there, its links and email replies lead there.
        MERGED = "merged", "Closed: merged into another complaint"

    # The procedure as data: from each state, the states it may move to.
    TRANSITIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        Status.RECEIVED: (Status.ACKNOWLEDGED, Status.WITHDRAWN, Status.NOT_A_COMPLAINT, Status.MERGED),
        Status.ACKNOWLEDGED: (Status.INVESTIGATING, Status.WITHDRAWN, Status.NOT_A_COMPLAINT, Status.MERGED),
        Status.INVESTIGATING: (
            Status.AWAITING_CLIENT,
            Status.RESPONDED,
            Status.WITHDRAWN,
            Status.NOT_A_COMPLAINT,
            Status.MERGED,
        ),
        Status.AWAITING_CLIENT: (Status.INVESTIGATING, Status.WITHDRAWN, Status.NOT_A_COMPLAINT, Status.MERGED),
        Status.RESPONDED: (Status.UNDER_APPEAL, Status.CLOSED),
        Status.UNDER_APPEAL: (Status.CLOSED,),
        # Only for a late appeal that staff accept after the complaint closed at
        # the end of its appeal window; a complaint has at most one appeal.
        Status.CLOSED: (Status.UNDER_APPEAL,),
        # A withdrawal made by mistake is reopened by a lead (``services.complaint_reopen``), into the
        # state it was withdrawn from (investigating, when a question to the client was open then).
        Status.WITHDRAWN: (Status.RECEIVED, Status.ACKNOWLEDGED, Status.INVESTIGATING),
        Status.NOT_A_COMPLAINT: (),
        # Final: a case merged by mistake is not split again (its copies are on the main case).
        Status.MERGED: (),
    }
    # Only a complaint in one of these states can have an appeal (lodging one moves it to under_appeal).
    STATES_WITH_APPEAL = (Status.UNDER_APPEAL, Status.CLOSED)
    OPEN_STATUSES = (
        Status.RECEIVED,
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.AWAITING_CLIENT,
    )
    # Closed without an outcome by a complaints lead: no complaint to count in any figure (docs/specification.md).
    CLOSED_WITHOUT_OUTCOME = (Status.NOT_A_COMPLAINT, Status.MERGED)

    class Channel(models.TextChoices):
        WEB = "web", "Web form"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"
        IN_PERSON = "in_person", "In person"

    class ContactMethod(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        POST = "post", "Post"

    class AccessNeed(models.TextChoices):
        """What helps a client take part (Equality Act reasonable adjustments)."""

        LARGE_PRINT = "large_print", "Large print letters"
        PLAIN_LANGUAGE = "plain_language", "Plain language"
        PHONE_INSTEAD = "phone_instead", "A phone call instead of writing"
        MORE_TIME = "more_time", "More time to reply"

    class Correspondence(models.TextChoices):
        """Who receives the letters, emails and secure links of a case with a representative."""

        CLIENT = "client", "The client"
        REPRESENTATIVE = "representative", "The representative"
        BOTH = "both", "Both"

    class Outcome(models.TextChoices):
        UPHELD = "upheld", "Upheld"
        PARTIALLY_UPHELD = "partially_upheld", "Partially upheld"
        NOT_UPHELD = "not_upheld", "Not upheld"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=24, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.WEB)

    # The complainant.
    name = models.CharField("full name", max_length=200)
    email = models.EmailField("email address", blank=True)
    phone = models.CharField("phone number", max_length=40, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    preferred_contact = models.CharField(
        "preferred contact method", max_length=10, choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    postal_address = models.TextField(blank=True)

    # The complaint.
    incident_date = models.DateField("date of the incident", null=True, blank=True)
    description = models.TextField()
    desired_outcome = models.TextField("what would put it right", blank=True)
    # What helps the client (AccessNeed values) and anything else they said; shown to staff, large print changes
    # the letters' layout. Asked at intake; staff record adjustments agreed later (services.complaint_set_access_needs).
    access_needs = models.JSONField(default=list, blank=True)
    access_needs_detail = models.TextField("what else would help", blank=True)
    # Someone complaining on the client's behalf (a relative, an accountant, a solicitor), with the client's
    # consent: a note of how and when it was given, or the case document that gives it. ``correspondence_to``
    # says who receives letters, emails and secure links (``correspondents``). Set at intake or later by staff
    # (services.complaint_set_representative).
    representative_name = models.CharField(max_length=200, blank=True)
    representative_relationship = models.CharField("relationship to the client", max_length=100, blank=True)
    representative_email = models.EmailField(blank=True)
    representative_phone = models.CharField(max_length=40, blank=True)
    representative_address = models.TextField(blank=True)
    consent_note = models.TextField("how the client gave consent", blank=True)
    consent_given_on = models.DateField("when the client gave consent", null=True, blank=True)
    consent_document = models.ForeignKey(
        "Attachment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    correspondence_to = models.CharField(
        "letters and emails go to", max_length=14, choices=Correspondence.choices, default=Correspondence.CLIENT
    )
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints")

    # Deadlines (London dates, see cases.business_days).
    received_at = models.DateTimeField(help_text="When the complaint really arrived; deadlines run from here.")
    acknowledgement_due = models.DateField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    outcome_due = models.DateField(null=True, blank=True)

    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # The investigation.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_complaints",
    )
    investigation_started_at = models.DateTimeField(null=True, blank=True)
    # Set while the case waits for the client: the investigation clock is stopped.
    clock_stopped_at = models.DateTimeField(null=True, blank=True)
    # A withdrawal (by the client on their page, or recorded by a lead): when, from which state, why.
    # Reopened within the allowed time, the case returns to that state and its due dates move on.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_from = models.CharField(max_length=20, choices=Status.choices, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    # The outcome.
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    findings = models.TextField(blank=True)
    outcome_reasons = models.TextField("reasons for the decision", blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why it arose (RootCause) and what the firm learned from it: for the reports' lessons, never sent to the client.
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    lesson = models.TextField("what we learned", blank=True)
    # Last day on which the client may appeal (business days after the outcome).
    appeal_deadline = models.DateField(null=True, blank=True)

    # Optimistic concurrency: every change bumps it; a form posted against an
    # older revision is refused with the case's news, and the typing is kept.
    revision = models.PositiveIntegerField(default=0)
    # Bumped to revoke every secure link sent to the client so far.
    client_link_version = models.PositiveIntegerField(default=1)
    # The main case a duplicate was merged into (status merged): its client links and email replies lead there.
    # Never a chain: merging a case that has duplicates moves them on to the new main case (services.complaint_merge).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates", editable=False
    )
    # When the personal data was removed (retention period over, or on the client's request): procedure.retention.
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        permissions = [
            ("log_complaint", "Can log a complaint received by phone, email, letter or in person"),
            ("work_complaint", "Can investigate complaints assigned to them or unassigned"),
            ("manage_all_complaints", "Can work on every complaint, assign and reassign"),
        ]
        indexes = [
            models.Index(fields=["status", "acknowledgement_due"], name="complaint_status_ackdue"),
            models.Index(fields=["status", "outcome_due"], name="complaint_status_outcomedue"),
            models.Index(fields=["received_at"], name="complaint_received"),
            models.Index(fields=["assignee", "status"], name="complaint_assignee_status"),
            # The sweep closes responded cases whose appeal window has passed.
            models.Index(
                fields=["appeal_deadline"],
                name="complaint_responded_window",
                condition=models.Q(status="responded"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    # -- the state machine ------------------------------------------------------

    def record_transition(self, old: str, new: str, **event) -> ComplaintEvent:
        return ComplaintEvent.objects.record(self, from_status=old, to_status=new, **event)

    # -- derived facts ------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def current_due_date(self) -> date | None:
        """The date the running promise falls due, if a clock runs (``cases.deadlines``)."""
        return deadlines.current_due(self, deadlines.COMPLAINT_CLOCKS)

    @property
    def appeal_or_none(self):
        """The complaint's appeal, or None: no query for a complaint that cannot have one, nor for one
        fetched with ``select_related("appeal")`` (as ``cases.access.complaint_for_staff`` does).

        Read through the reverse relation: the appeals app sits above this one and is not imported.
        """
        if self.status not in self.STATES_WITH_APPEAL:
            return None
        try:
            return self.appeal
        except ObjectDoesNotExist:
            return None

    def appeal_problem(self, *, at: datetime | None = None) -> str:
        """Why the client cannot appeal this complaint themselves now, or "" if they can (the appeal window)."""
        if self.appeal_or_none is not None:
            return f"An appeal on {self.reference} has already been made. The Director's decision on it is final."
        deadline = self.appeal_deadline
        if self.status not in (self.Status.RESPONDED, self.Status.CLOSED) or deadline is None:
            return f"Complaint {self.reference} has no outcome to appeal against yet."
        if self.status == self.Status.CLOSED or business_days.london_date(at or timezone.now()) > deadline:
            return (
                f"The time to appeal ended on {deadline:%A %-d %B %Y}. If something stopped you appealing in time, "
                f"write to our Director at {settings.COMPANY['appeals_email']}, quoting {self.reference}, and explain."
            )
        return ""

    @property
    def main_case(self) -> Complaint:
        """Where this case's client links and email replies lead: the case it was merged into, else itself.

        One step is enough: a merged case's main case is never itself merged (``services.complaint_merge``).
        """
        return self.merged_into or self

    def same_client_as(self, other: Complaint) -> bool:
        """Do two cases look like the same client's? The same email address; where either has none, the same name.

        Merging cases of different clients needs a complaints lead to confirm it (``services.complaint_merge``):
        the duplicate's client would follow the main case through their links.
        """
        mine, theirs = self.email.strip().casefold(), other.email.strip().casefold()
        if mine and theirs:
            return mine == theirs
        return " ".join(self.name.casefold().split()) == " ".join(other.name.casefold().split())

    @property
    def received_effective_date(self) -> date:
        return business_days.effective_date(self.received_at)

    @property
    def access_need_labels(self) -> list[str]:
        return [self.AccessNeed(need).label for need in self.access_needs if need in self.AccessNeed.values]

    @property
    def has_representative(self) -> bool:
        return bool(self.representative_name)

    @property
    def correspondents(self) -> list[Correspondent]:
        """Who receives the case's letters, emails and secure links (``correspondence_to``), the client first."""
        client = Correspondent(CLIENT_ROLE, self.name, self.email, self.postal_address)
        if not self.has_representative:
            return [client]
        representative = Correspondent(
            REPRESENTATIVE_ROLE, self.representative_name, self.representative_email, self.representative_address
        )
        if self.correspondence_to == self.Correspondence.CLIENT:
            return [client]
        if self.correspondence_to == self.Correspondence.REPRESENTATIVE:
            return [representative]
        return [client, representative]

    @property
    def letter_addressee(self) -> Correspondent:
        """Whom a letter is addressed to; the others of ``correspondents`` are named as copied in."""
        return self.correspondents[0]

    @property
    def email_recipients(self) -> list[Correspondent]:
        """The correspondents with an email address: the client's emails go to each of them."""
        return [person for person in self.correspondents if person.email]

    @property
    def email_addresses(self) -> str:
        """Where the client's emails go, for people to read: "ada@example.com and grace@example.org"."""
        return " and ".join(person.email for person in self.email_recipients)

    def correspondent(self, role: str) -> Correspondent:
        """The correspondent in ``role`` (an email's addressee); the client when that role receives nothing."""
        return next((person for person in self.correspondents if person.role == role), self.correspondents[0])

    @property
    def large_print(self) -> bool:
        return self.AccessNeed.LARGE_PRINT in self.access_needs

    @property
    def acknowledgement_late_by(self) -> int:
        """Business days the acknowledgement went out after its due date; not out yet, how late it already is
        (a complaint logged long after it arrived). 0 when on time."""
        if self.acknowledged_at is not None:
            done = business_days.london_date(self.acknowledged_at)
        elif self.status == self.Status.RECEIVED:
            done = business_days.london_today()
        else:
            return 0
        return deadlines.business_days_late(self.acknowledgement_due, done)

    @property
    def received_local(self):
        return timezone.localtime(self.received_at)


class ComplaintSearchToken(models.Model):
    """One word of a complaint's searched text, with the columns the dashboard sorts and filters by.

    PostgreSQL only, and not managed by Django: migration 0011 creates the table and the
    triggers that keep it equal to ``cases_complaint`` (a word per letter run or digit run
    of the name, email, organisation, description and reference, upper-cased; the row's
    running deadline, state, assignee, channel, category and receipt time beside it). Its
    index (token, running deadline, newest first) hands the dashboard the first page of a
    one-word search already in order, however many cases hold the word
    (``cases.search``). Read only through the ORM, never written by Django.
    """

    pk = models.CompositePrimaryKey("token", "complaint")
    token = models.TextField()
    complaint = models.ForeignKey(Complaint, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    current_due = models.DateField(null=True)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Complaint.Status.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    channel = models.CharField(max_length=12, choices=Complaint.Channel.choices)
    category = models.ForeignKey(
        Category, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        managed = False
        db_table = "cases_complaint_search_token"

    def __str__(self) -> str:
        return self.token


class ComplaintEventManager(models.Manager["ComplaintEvent"]):
    def record(
        self,
        complaint,
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
        """Add one entry to the case's timeline (inside the change's transaction)."""
        return self.create(
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


class ComplaintEvent(models.Model):
    """One entry on a case's timeline: who did what, when, and whether the client sees it."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Complaint submitted"
        LOGGED = "logged", "Complaint logged by staff"
        ACKNOWLEDGED = "acknowledged", "Complaint acknowledged"
        STATUS_CHANGED = "status_changed", "Status changed"
        ATTACHMENT_ADDED = "attachment_added", "Document added"
        MESSAGE_SENT = "message_sent", "Message sent"
        LETTER_ISSUED = "letter_issued", "Letter issued"
        ASSIGNED = "assigned", "Assigned"
        CATEGORISED = "categorised", "Categorised"
        INVESTIGATION_STARTED = "investigation_started", "Investigation started"
        NOTE_ADDED = "note_added", "Internal note"
        INFORMATION_REQUESTED = "information_requested", "Information requested"
        CLIENT_REPLIED = "client_replied", "Client replied"
        OUTCOME_ISSUED = "outcome_issued", "Outcome issued"
        ACTION_DONE = "action_done", "Action completed"
        APPEAL_RECEIVED = "appeal_received", "Appeal received"
        APPEAL_ACKNOWLEDGED = "appeal_acknowledged", "Appeal acknowledged"
        APPEAL_REVIEW_STARTED = "appeal_review_started", "Appeal review started"
        APPEAL_DECIDED = "appeal_decided", "Appeal decided"
        DEADLINE_EXTENDED = "deadline_extended", "Deadline extended"
        REMINDER_SENT = "reminder_sent", "Deadline reminder sent to staff"
        ESCALATED = "escalated", "Missed deadline escalated"
        CLOSED = "closed", "Complaint closed"
        ANONYMISED = "anonymised", "Personal data removed"
        CLIENT_WROTE = "client_wrote", "The client wrote to us"
        NOT_A_COMPLAINT = "not_a_complaint", "Closed: not a complaint"
        EMAIL_BOUNCED = "email_bounced", "An email to the client was not delivered"
        WITHDRAWN = "withdrawn", "Complaint withdrawn"
        REOPENED = "reopened", "Withdrawal reopened"
        UPDATE_SENT = "update_sent", "Update sent to the client"
        ADJUSTMENT = "adjustment", "Adjustment asked for or agreed"
        REPRESENTATIVE = "representative", "Representative recorded or changed"
        MERGED = "merged", "Merged into another complaint"
        DUPLICATE_JOINED = "duplicate_joined", "A duplicate complaint was joined to this one"
        RELATED = "related", "Related complaint linked or unlinked"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    from_status = models.CharField(max_length=20, choices=Complaint.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Complaint.Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "Client", "System" or a staff member's name, as shown on the timeline.
    actor_label = models.CharField(max_length=150)
    summary = models.CharField(max_length=300)
    client_visible = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ComplaintEventManager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["complaint", "created_at"], name="event_complaint_time"),
            # The API's feed of events, oldest first, from a moment on (api.views.EventList).
            models.Index(fields=["created_at", "id"], name="event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def staff_summary(self) -> str:
        """The summary as staff pages say it: an entry the client sees speaks to them ("We asked you for
        more information"); staff read it of the client ("We asked the client for more information")."""
        if not self.client_visible:
            return self.summary
        text = self.summary
        for pattern, words in _SAID_OF_THE_CLIENT:
            text = pattern.sub(words, text)
        return text


# Second person to third, for staff pages (``ComplaintEvent.staff_summary``); in this order.
_SAID_OF_THE_CLIENT = (
    (re.compile(r"^Your (complaint|appeal)\b"), r"The \1"),
    (re.compile(r"\byour (complaint|appeal)\b"), r"the \1"),
    (re.compile(r"^Your\b"), "The client's"),
    (re.compile(r"^You\b"), "The client"),
    (re.compile(r"\byou\b"), "the client"),
    (re.compile(r"\byour\b"), "the client's"),
)


def attachment_path_for(public_id: uuid.UUID) -> str:
    """Where a case's document is stored: never the client's file name (that is kept in original_name only)."""
    return f"complaints/{public_id}/{uuid.uuid4().hex}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return attachment_path_for(instance.complaint.public_id)


class Attachment(models.Model):
    """A document sent with a complaint, kept in private storage."""

    class Source(models.TextChoices):
        CLIENT = "client", "Client"
        STAFF = "staff", "Staff"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLIENT)
    # Sent with the appeal rather than the complaint (the Director reads them as such).
    for_appeal = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class RelatedComplaint(models.Model):
    """Staff linked two complaints as related (the same incident, the client's other complaint): one row each way.

    Written and removed in pairs by ``services.complaint_link_related`` and ``complaint_unlink_related``, so a
    case lists its related cases with one look-up of its own rows; each side's timeline says who linked them.
    """

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="related_links")
    other = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="+")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["complaint", "other"], name="related_once"),
            models.CheckConstraint(condition=~models.Q(complaint=models.F("other")), name="related_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} related to {self.other_id}"


class Note(models.Model):
    """An internal note on a case: never shown to the client."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note on {self.complaint_id} by {self.author_id}"


class InformationRequest(models.Model):
    """A question to the client; while it is open the investigation clock is stopped."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="information_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    message = models.TextField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)
    # Closed with the case (withdrawn, not a complaint) rather than answered: ``answered_at`` is when.
    ended_without_answer = models.BooleanField(default=False)
    # Business days the clock stood still, added to the outcome due date on resume.
    paused_business_days = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            # At most one open request per case.
            models.UniqueConstraint(
                fields=["complaint"], condition=models.Q(answered_at__isnull=True), name="one_open_request_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"Request on {self.complaint_id} at {self.requested_at:%Y-%m-%d}"


class Paragraph(models.Model):
    """A reusable paragraph the administrator keeps in the admin (the specification's letter templates):
    staff insert it into an update, a question to the client or an outcome's findings, then edit it."""

    title = models.CharField(max_length=100, unique=True)
    text = models.TextField()
    active = models.BooleanField(default=True, help_text="Offered to staff; untick to retire it.")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ClientUpdate(models.Model):
    """News we send the client that is not a question: emailed with the reference, shown on their page."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="updates")
    text = models.TextField()
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"Update on {self.complaint_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class ClientMessage(models.Model):
    """Something the client wrote to us about their case that was not the answer to our question.

    By email today (a reply to one of our emails, read from complaints@); its documents are the
    case's attachments sent with it. Never changes a deadline.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEB = "web", "Client's case page"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="client_messages")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    text = models.TextField(blank=True)
    # When it reached us (for an email: when our mail server received it).
    received_at = models.DateTimeField()
    from_address = models.EmailField(blank=True)
    # Names of the documents sent with it (the attachments themselves are on the case).
    document_names = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"Message from the client on {self.complaint_id} at {self.received_at:%Y-%m-%d %H:%M}"


class Action(models.Model):
    """A step promised in an outcome letter, tracked until done."""

    class Kind(models.TextChoices):
        PUT_RIGHT = "put_right", "Put things right"
        PREVENT_RECURRENCE = "prevent_recurrence", "Prevent it happening again"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_actions")
    due_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set by the Director's final decision on an appeal rather than the outcome letter.
    from_appeal = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(fields=["due_date"], name="action_open_due", condition=models.Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:60]}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class Extension(models.Model):
    """A due date moved on by a complaints lead, with the reason the client was given."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="extensions")
    deadline = models.CharField(max_length=30, choices=Deadline.choices)
    old_date = models.DateField()
    new_date = models.DateField()
    reason = models.TextField()
    extended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The outbox row of the client's notice ("" when the client has no email: staff write instead).
    notice_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_deadline_display()} {self.old_date} → {self.new_date}"
