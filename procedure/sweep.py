"""The deadline sweep: no promise of the procedure is missed silently (docs/specification.md, the deadline rule).

Celery beat runs ``deadlines_sweep`` every 15 minutes (``DEADLINE_SWEEP_MINUTES``).
Every run:

* escalates each due date that has passed and is still owed, on the first run
  after it passes: complaints to the complaints leads, appeals to the Directors
  and the leads; and tells the webhook endpoints that want ``deadline.breached``
  (``procedure.webhooks``);
* closes each responded complaint whose appeal window has ended with no appeal,
  and tells the client;
* re-queues every outbox message still unsent (acknowledgements included).

Once a day, on the first run at or after ``DEADLINE_DAILY_WORK_AT`` (08:00
London) on a business day, it also:

* reminds whoever is responsible of each due date falling on the next business
  day (or today, if an outage made the sweep miss yesterday's reminder): the
  assignee, or the leads when nobody is assigned; the Directors for appeals;
* reminds the owner of each promised action now overdue.

Exactly once: each notice is a ``DeadlineNotice`` row under a unique key (case,
kind, deadline, due date, subject), written in the same transaction as the
timeline entry and the outbox rows of its emails. Every phase takes the
``SweepLock`` row first, so two sweeps (a retried task, two beats by mistake)
queue one after the other and the second finds the first's notices. A run
killed mid-way commits nothing of its phase, so the next run does it. The
morning's work is marked done only at its end, so it is redone, never skipped.

Work grows with what is due, not with the number of cases: each kind of notice
is one indexed, set-based query, and the writes are bulk inserts. Emails are
rendered and sent by the worker (``notifications.tasks.deliver_messages``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from appeals.models import Appeal
from appeals.permissions import deciders
from cases import business_days, deadlines
from cases.models import RECIPIENT_FIELDS, Action, Complaint, ComplaintEvent, Deadline
from cases.permissions import leads
from inbound.models import InboundEmail
from notifications.models import OutboundMessage
from notifications.services import messages_send_pending, sweep_grace
from notifications.tasks import deliver_messages
from procedure.models import DeadlineNotice, EmailNotice, SweepLock
from procedure.webhooks import breach_deliveries, breach_facts
from satisfaction.services import surveys_queue

Kind = DeadlineNotice.Kind
Status = Complaint.Status
LOCK_NAME = "deadlines"
SYSTEM = "System"


@dataclass
class SweepReport:
    escalations: int = 0
    closures: int = 0
    reminders: int = 0
    action_reminders: int = 0
    daily_work: bool = False
    messages_queued: int = 0

    def counts(self) -> dict[str, int | bool]:
        """What the run did, as kept on the lock row (``SweepLock.last_run_counts``)."""
        return asdict(self)

    def __str__(self) -> str:
        daily = "morning work done" if self.daily_work else "no morning work"
        return (
            f"{self.escalations} escalation(s), {self.closures} closure(s), {self.reminders} reminder(s), "
            f"{self.action_reminders} action reminder(s); {daily}; {self.messages_queued} message(s) queued"
        )


@dataclass
class _Notice:
    """One notice to record, with whom it goes to and what the timeline says."""

    complaint_id: int
    kind: str
    deadline: str
    due_date: date
    recipients: list
    summary: str
    subject_id: int = 0
    links_to_appeal: bool = False
    # An escalation's facts for the endpoints that want ``deadline.breached`` (procedure.webhooks).
    breach: dict | None = None


@dataclass
class _Batch:
    """Everything one phase writes, in three bulk inserts."""

    now: datetime
    notices: list[DeadlineNotice] = field(default_factory=list)
    events: list[ComplaintEvent] = field(default_factory=list)
    messages: list = field(default_factory=list)
    email_notices: list[EmailNotice] = field(default_factory=list)
    # Escalations' timeline entries, with the facts the webhook endpoints are told (once the entries have ids).
    breaches: list[tuple[ComplaintEvent, dict]] = field(default_factory=list)

    def add_email(self, email: InboundEmail, *, kind: str, recipients: list, message_kind: str) -> None:
        """A reminder or escalation about an email waiting for a person (to the complaints leads)."""
        due = email.acknowledgement_due
        if due is None:
            return
        self.email_notices.append(
            EmailNotice(
                email=email, kind=kind, due_date=due, recipients=[u.pk for u in recipients], created_at=self.now
            )
        )
        for user in recipients:
            if user.email:
                self.messages.append(
                    _outbox_row(
                        kind=message_kind,
                        key=f"email-deadline:{email.pk}:{kind}:{due}:user:{user.pk}",
                        to_email=user.email,
                        complaint_id=None,
                        client_visible=False,
                        now=self.now,
                        context={
                            "recipient_name": user.get_full_name() or user.get_username(),
                            "email_id": email.pk,
                            "due_date": due.isoformat(),
                        },
                    )
                )

    def add(self, notice: _Notice, *, message_kind: str, client_visible_event: bool = False) -> None:
        recipients = [user for user in notice.recipients if user is not None]
        self.notices.append(
            DeadlineNotice(
                complaint_id=notice.complaint_id,
                kind=notice.kind,
                deadline=notice.deadline,
                due_date=notice.due_date,
                subject_id=notice.subject_id,
                recipients=[user.pk for user in recipients],
                created_at=self.now,
            )
        )
        event = ComplaintEvent(
            complaint_id=notice.complaint_id,
            kind=_EVENT_KIND[notice.kind],
            summary=notice.summary[:300],
            actor_label=SYSTEM,
            client_visible=client_visible_event,
            created_at=self.now,
        )
        self.events.append(event)
        if notice.breach is not None:
            self.breaches.append((event, notice.breach))
        for user in recipients:
            if user.email:
                self.messages.append(
                    _outbox_row(
                        kind=message_kind,
                        key=f"deadline:{notice.complaint_id}:{notice.kind}:{notice.deadline}:{notice.due_date}:"
                        f"{notice.subject_id}:user:{user.pk}",
                        to_email=user.email,
                        complaint_id=notice.complaint_id,
                        client_visible=False,
                        now=self.now,
                        context={
                            "recipient_name": user.get_full_name() or user.get_username(),
                            "deadline": notice.deadline,
                            "due_date": notice.due_date.isoformat(),
                            "action_id": notice.subject_id,
                            "appeal": notice.links_to_appeal,
                        },
                    )
                )

    def write(self) -> int:

        DeadlineNotice.objects.bulk_create(self.notices)
        EmailNotice.objects.bulk_create(self.email_notices)
        ComplaintEvent.objects.bulk_create(self.events)
        # The escalations' entries have their ids now: each is its webhook event's id.
        deliveries = breach_deliveries(self.breaches, now=self.now)
        OutboundMessage.objects.bulk_create([*self.messages, *deliveries], ignore_conflicts=True)
        if self.messages or deliveries:
            keys = [m.dedupe_key for m in [*self.messages, *deliveries]]
            transaction.on_commit(lambda: _deliver_on_commit(keys))
        return len(self.messages)


_EVENT_KIND: dict[str, str] = {
    Kind.REMINDER: ComplaintEvent.Kind.REMINDER_SENT,
    Kind.ESCALATION: ComplaintEvent.Kind.ESCALATED,
    Kind.CLOSURE: ComplaintEvent.Kind.CLOSED,
}


def _outbox_row(*, kind, key, to_email, complaint_id, client_visible, now, context):

    return OutboundMessage(
        dedupe_key=key,
        kind=kind,
        to_email=to_email,
        complaint_id=complaint_id,
        client_visible=client_visible,
        context=context,
        # Queued by the task below at once; the outbox sweep steps in only if that fails.
        next_attempt_at=now + sweep_grace(),
        created_at=now,
    )


def _deliver_on_commit(keys: list[str]) -> None:
    """Hand the worker the new messages in batches (never raises: the outbox sweep is the safety net)."""
    import logging

    ids = list(
        OutboundMessage.objects.filter(dedupe_key__in=keys, state=OutboundMessage.State.PENDING).values_list(
            "pk", flat=True
        )
    )
    for start in range(0, len(ids), 500):
        try:
            deliver_messages.apply_async(args=[ids[start : start + 500]], retry=False)
        except Exception as error:  # noqa: BLE001 - the broker is down: the outbox sweep sends them later
            logging.getLogger(__name__).warning("Broker unavailable (%s); deadline messages left for the sweep", error)
            return


# --- Who is told ------------------------------------------------------------------------------


@dataclass
class _People:
    leads: list
    directors: list

    @classmethod
    def load(cls) -> _People:

        return cls(leads=list(leads()), directors=list(deciders()))

    def responsible_for(self, assignee) -> list:
        return [assignee] if assignee is not None and assignee.is_active else self.leads

    def for_appeals(self, *, with_leads: bool) -> list:
        people = {user.pk: user for user in self.directors}
        if with_leads or not people:
            people.update({user.pk: user for user in self.leads})
        return list(people.values())


# --- What is due ---------------------------------------------------------------------------------


def _not_yet(kind: str, deadline: str, due_field: str, complaint_ref: str = "pk") -> Exists:
    return Exists(
        DeadlineNotice.objects.filter(
            complaint=OuterRef(complaint_ref),
            kind=kind,
            deadline=deadline,
            due_date=OuterRef(due_field),
            subject_id=0,
        )
    )


def _complaint_deadlines(kind: str, due_q) -> Iterable[tuple[Complaint, str, date]]:
    """Complaints whose running acknowledgement or outcome due date matches ``due_q(field)``, not yet noticed.

    A clock that is stopped (a case waiting for the client) is neither reminded nor escalated:
    its due date moves on when the client answers (``cases.deadlines``).
    """
    for clock in deadlines.COMPLAINT_CLOCKS:
        queryset = (
            Complaint.objects.filter(Q(status__in=clock.runs_in), due_q(clock.due_field))
            .exclude(_not_yet(kind, clock.deadline, clock.due_field))
            .select_related("assignee")
            .only("pk", "public_id", "reference", "status", clock.due_field, "assignee")
        )
        for complaint in queryset:
            yield complaint, clock.deadline, getattr(complaint, clock.due_field)


def _waiting_emails(kind: str, due: Q) -> Iterable[InboundEmail]:
    """Emails waiting for a person whose acknowledgement due date matches ``due``, not yet noticed."""
    noticed = EmailNotice.objects.filter(email=OuterRef("pk"), kind=kind, due_date=OuterRef("acknowledgement_due"))
    return (
        InboundEmail.objects.filter(due, state=InboundEmail.State.WAITING)
        .exclude(Exists(noticed))
        .only("pk", "acknowledgement_due")
    )


def _appeal_deadlines(kind: str, due_q) -> Iterable[tuple[Appeal, str, date]]:

    for clock in deadlines.APPEAL_CLOCKS:
        queryset = (
            Appeal.objects.filter(Q(status__in=clock.runs_in), due_q(clock.due_field))
            .exclude(_not_yet(kind, clock.deadline, clock.due_field, complaint_ref="complaint_id"))
            .select_related("complaint")
            .only(
                "pk",
                "status",
                "complaint__public_id",
                "complaint__reference",
                "complaint__status",
                "complaint_id",
                clock.due_field,
            )
        )
        for appeal in queryset:
            yield appeal, clock.deadline, getattr(appeal, clock.due_field)


def _label(deadline: str) -> str:
    return Deadline(deadline).label


# --- The phases ------------------------------------------------------------------------------------


def _lock() -> SweepLock:
    """Take the sweep's lock row: one query, except on the very first run, which makes the row."""
    lock = SweepLock.objects.select_for_update().filter(name=LOCK_NAME).first()
    if lock is None:
        SweepLock.objects.get_or_create(name=LOCK_NAME)
        lock = SweepLock.objects.select_for_update().get(name=LOCK_NAME)
    return lock


def _escalate_and_close(*, today: date, now: datetime, people: _People, report: SweepReport) -> date | None:
    """Every run: escalate what has passed, close what can no longer be appealed.

    Returns the last day whose morning work was done, as the lock row said.
    """
    batch = _Batch(now=now)
    with transaction.atomic():
        lock = _lock()

        def passed(due_field):
            return Q(**{f"{due_field}__lt": today})

        for complaint, deadline, due in _complaint_deadlines(Kind.ESCALATION, passed):
            batch.add(
                _Notice(
                    complaint_id=complaint.pk,
                    kind=Kind.ESCALATION,
                    deadline=deadline,
                    due_date=due,
                    recipients=people.leads,
                    summary=f"Missed deadline escalated to the complaints leads: {_label(deadline)} "
                    f"was due {due:%-d %B %Y}",
                    breach=breach_facts(complaint=complaint, deadline=deadline, due=due),
                ),
                message_kind="staff_deadline_escalation",
            )
            report.escalations += 1
        for appeal, deadline, due in _appeal_deadlines(Kind.ESCALATION, passed):
            batch.add(
                _Notice(
                    complaint_id=appeal.complaint_id,
                    kind=Kind.ESCALATION,
                    deadline=deadline,
                    due_date=due,
                    recipients=people.for_appeals(with_leads=True),
                    summary=f"Missed deadline escalated to the Director and the complaints leads: {_label(deadline)} "
                    f"was due {due:%-d %B %Y}",
                    links_to_appeal=True,
                    breach=breach_facts(
                        complaint=appeal.complaint, deadline=deadline, due=due, appeal_status=appeal.status
                    ),
                ),
                message_kind="staff_deadline_escalation",
            )
            report.escalations += 1
        for email in _waiting_emails(Kind.ESCALATION, Q(acknowledgement_due__lt=today)):
            batch.add_email(email, kind=Kind.ESCALATION, recipients=people.leads, message_kind="staff_email_escalation")
            report.escalations += 1
        report.closures += _close_expired(today=today, now=now, batch=batch)
        report.messages_queued += batch.write()
    return lock.daily_work_done_for


def _close_expired(*, today: date, now: datetime, batch: _Batch) -> int:
    """responded → closed for each complaint whose appeal window ended with no appeal; the client is told."""

    expired = (
        Complaint.objects.filter(appeal_deadline__lt=today)
        .exclude(Exists(Appeal.objects.filter(complaint=OuterRef("pk"))))
        .only("pk", "status", "appeal_deadline", *RECIPIENT_FIELDS)
    )
    # Locked, then one compare-and-set (cases.models.ComplaintQuerySet.transition_all): a case appealed
    # meanwhile is no longer responded and stays as it is.
    closed = expired.transition_all(
        Status.CLOSED,
        source=Status.RESPONDED,
        event=ComplaintEvent.Kind.CLOSED,
        summary=lambda case: (
            f"Complaint closed: the time to appeal ended on {case.appeal_deadline:%-d %B %Y} with no appeal"
        ),
        at=now,
        client_visible=True,
    )
    for case in closed:
        window_end = case.appeal_deadline
        if window_end is None:  # selected by appeal_deadline__lt: never None
            continue
        batch.notices.append(
            DeadlineNotice(
                complaint_id=case.pk,
                kind=Kind.CLOSURE,
                deadline=Deadline.APPEAL_WINDOW,
                due_date=window_end,
                recipients=["client"] if case.email_recipients else [],
                created_at=now,
            )
        )
        # The same recipients as every email to the client (cases.services.message_to_client).
        for person in case.email_recipients:
            batch.messages.append(
                _outbox_row(
                    kind="complaint_closed",
                    key=person.outbox_key(f"complaint:{case.pk}:closed"),
                    to_email=person.email,
                    complaint_id=case.pk,
                    client_visible=True,
                    now=now,
                    context={"window_end": window_end.isoformat(), "recipient": person.role},
                )
            )
    # Closed for good after their outcome: each client is asked how we handled it (satisfaction.services).
    surveys_queue([case.pk for case in closed], at=now)
    return len(closed)


def _remind(*, today: date, now: datetime, people: _People, report: SweepReport) -> None:
    """The morning's work: reminders of tomorrow's due dates, and of overdue actions."""
    horizon = business_days.add_business_days(today, 1)
    batch = _Batch(now=now)
    with transaction.atomic():
        lock = _lock()
        if lock.daily_work_done_for == today:
            return  # another sweep did it while this one waited for the lock

        def falls_due(due_field):
            # Tomorrow's (next business day's) due dates; today's too, in case an outage
            # stopped yesterday's morning sweep (late is better than never).
            return Q(**{f"{due_field}__gte": today, f"{due_field}__lte": horizon})

        for complaint, deadline, due in _complaint_deadlines(Kind.REMINDER, falls_due):
            recipients = people.responsible_for(complaint.assignee)
            batch.add(
                _Notice(
                    complaint_id=complaint.pk,
                    kind=Kind.REMINDER,
                    deadline=deadline,
                    due_date=due,
                    recipients=recipients,
                    summary=f"Reminder sent to {_names(recipients)}: {_label(deadline)} due {due:%-d %B %Y}",
                ),
                message_kind="staff_deadline_reminder",
            )
            report.reminders += 1
        for appeal, deadline, due in _appeal_deadlines(Kind.REMINDER, falls_due):
            recipients = people.for_appeals(with_leads=False)
            batch.add(
                _Notice(
                    complaint_id=appeal.complaint_id,
                    kind=Kind.REMINDER,
                    deadline=deadline,
                    due_date=due,
                    recipients=recipients,
                    summary=f"Reminder sent to {_names(recipients)}: {_label(deadline)} due {due:%-d %B %Y}",
                    links_to_appeal=True,
                ),
                message_kind="staff_deadline_reminder",
            )
            report.reminders += 1
        for email in _waiting_emails(
            Kind.REMINDER, Q(acknowledgement_due__gte=today, acknowledgement_due__lte=horizon)
        ):
            batch.add_email(email, kind=Kind.REMINDER, recipients=people.leads, message_kind="staff_email_reminder")
            report.reminders += 1
        overdue_actions = (
            Action.objects.filter(done_at__isnull=True, due_date__lt=today)
            .exclude(
                Exists(
                    DeadlineNotice.objects.filter(
                        complaint=OuterRef("complaint_id"),
                        kind=Kind.REMINDER,
                        deadline=Deadline.ACTION,
                        due_date=OuterRef("due_date"),
                        subject_id=OuterRef("pk"),
                    )
                )
            )
            .select_related("owner")
            .only("pk", "complaint_id", "due_date", "description", "owner")
        )
        for action in overdue_actions:
            batch.add(
                _Notice(
                    complaint_id=action.complaint_id,
                    kind=Kind.REMINDER,
                    deadline=Deadline.ACTION,
                    due_date=action.due_date,
                    recipients=[action.owner],
                    summary=f"Overdue action reminder sent to {_names([action.owner])}: "
                    f"“{action.description[:80]}” was due {action.due_date:%-d %B %Y}",
                    subject_id=action.pk,
                ),
                message_kind="staff_action_overdue",
            )
            report.action_reminders += 1
        report.messages_queued += batch.write()
        lock.daily_work_done_for = today
        lock.save(update_fields=["daily_work_done_for"])
        report.daily_work = True


def _names(users) -> str:
    names = [user.get_full_name() or user.get_username() for user in users if user is not None]
    return ", ".join(names) if names else "nobody (no one holds the role)"


def daily_work_due(now: datetime) -> bool:
    """Is ``now`` at or after the morning hour on a London business day?"""
    local = timezone.localtime(now, business_days.LONDON)
    return business_days.is_business_day(local.date()) and local.time() >= settings.DEADLINE_DAILY_WORK_AT


def deadlines_sweep(*, now: datetime | None = None) -> SweepReport:
    """One run of the sweep (see the module's docstring); safe to run at any time, any number of times."""

    now = now or timezone.now()
    today = business_days.london_date(now)
    report = SweepReport()
    people = _People.load()
    done_for = _escalate_and_close(today=today, now=now, people=people, report=report)
    # _remind checks again under the lock: another sweep may have done the morning's work since.
    if daily_work_due(now) and done_for != today:
        _remind(today=today, now=now, people=people, report=report)
    # (a) Every acknowledgement (complaint or appeal) and any other message not yet sent.
    report.messages_queued += messages_send_pending(now=now)
    # The run is recorded last: a run that failed part-way leaves the previous run as the last one.
    SweepLock.objects.filter(name=LOCK_NAME).update(last_run_at=now, last_run_counts=report.counts())
    return report


def last_sweep() -> SweepLock | None:
    """The sweep's lock row, holding when the last whole run finished and its counts (None: never run)."""
    return SweepLock.objects.filter(name=LOCK_NAME, last_run_at__isnull=False).first()
