"""Reads the email pages need: the messages waiting for a person, and one message as staff may read it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.urls import reverse

from cases.extensions import CaseLink, Extra, ExtraItem
from inbound import parsing
from inbound.models import InboundEmail, Mailbox

State = InboundEmail.State
# The lists a lead can look at, and what each holds.
LISTS = {
    "waiting": ("Waiting for a person", [State.WAITING]),
    "automatic": ("Automatic (never answered)", [State.AUTOMATIC]),
    "done": ("Dealt with", [State.DONE, State.HANDLED, State.DUPLICATE]),
}
LIST_FIELDS = (
    "pk",
    "mailbox",
    "arrived_at",
    "from_address",
    "from_name",
    "subject",
    "state",
    "outcome",
    "reason",
    "quarantined",
    "acknowledgement_due",
    "complaint_id",
    "complaint__reference",
)


def email_list(which: str) -> QuerySet:
    """One list: waiting ones by their acknowledgement date (overdue first), the others newest first."""
    states = LISTS[which][1]
    queryset = InboundEmail.objects.filter(state__in=states).select_related("complaint").only(*LIST_FIELDS)
    if which == "waiting":
        return queryset.order_by("acknowledgement_due", "arrived_at", "pk")
    return queryset.order_by("-arrived_at", "-pk")


def waiting_count() -> int:
    return InboundEmail.objects.filter(state=State.WAITING).count()


@dataclass(frozen=True)
class EmailShown:
    """A message as staff read it: as plain text, never rendered, with its attachments listed."""

    email: InboundEmail
    to: list[str]
    text: str
    attachments: list[str]
    defects: list[str]


def email_for_staff(email_id: int) -> EmailShown:
    email = InboundEmail.objects.select_related("complaint", "handled_by").filter(pk=email_id).first()
    if email is None:
        raise Http404("No such email.")
    try:
        with email.raw.open("rb") as handle:
            parsed = parsing.parse(handle.read())
    except Exception:  # noqa: BLE001 - an unreadable message is still shown: its headers as stored, no text
        return EmailShown(email=email, to=[], text="", attachments=[], defects=["could not be read"])
    return EmailShown(
        email=email,
        to=parsed.to,
        text=parsed.text,
        attachments=[part.name for part in parsed.parts],
        defects=parsed.defects,
    )


# Items shown in a deadline tab: the first ones by due date (the email page lists every one).
DASHBOARD_ITEMS = 10


def dashboard_extra(*, user, today, horizon):
    """The dashboard's "Email in" tab and the waiting emails due soon or overdue, for complaints leads."""
    if not user.has_perm("inbound.handle_inboundemail"):
        return None
    waiting = InboundEmail.objects.filter(state=State.WAITING)
    counts = waiting.aggregate(
        count=Count("pk"),
        overdue=Count("pk", filter=Q(acknowledgement_due__lt=today)),
        due_soon=Count("pk", filter=Q(acknowledgement_due__gte=today, acknowledgement_due__lte=horizon)),
    )
    fields = ("pk", "from_name", "from_address", "subject", "reason", "arrived_at", "acknowledgement_due")
    by_due = waiting.order_by("acknowledgement_due", "arrived_at", "pk").only(*fields)

    def item(email: InboundEmail) -> ExtraItem:
        sender = email.from_name or email.from_address or "an unknown sender"
        return ExtraItem(
            label=f"Email from {sender}: {email.subject or '(no subject)'}",
            url=reverse("staff:email", args=[email.pk]),
            due=email.acknowledgement_due,
            arrived_at=email.arrived_at,
            why=email.reason,
        )

    return Extra(
        key="email_in",
        label="Email in",
        url=reverse("staff:email_list"),
        count=counts["count"],
        due_soon_count=counts["due_soon"],
        overdue_count=counts["overdue"],
        due_soon=[
            item(email)
            for email in by_due.filter(acknowledgement_due__gte=today, acknowledgement_due__lte=horizon)[
                :DASHBOARD_ITEMS
            ]
        ]
        if counts["due_soon"]
        else [],
        overdue=[item(email) for email in by_due.filter(acknowledgement_due__lt=today)[:DASHBOARD_ITEMS]]
        if counts["overdue"]
        else [],
    )


def case_links(*, user, complaint) -> list[CaseLink]:
    """The case page's links to the emails the case came from or that joined it, for complaints leads."""
    if not user.has_perm("inbound.handle_inboundemail"):
        return []
    found = InboundEmail.objects.filter(complaint=complaint).order_by("arrived_at", "pk")
    outcomes = dict(InboundEmail.Outcome.choices)
    mailboxes = dict(Mailbox.choices)
    return [
        CaseLink(
            label=f"Email to {mailboxes[mailbox]}: {subject or '(no subject)'}",
            url=reverse("staff:email", args=[pk]),
            at=arrived_at,
            note=outcomes.get(outcome, ""),
        )
        for pk, arrived_at, subject, outcome, mailbox in found.values_list(
            "pk", "arrived_at", "subject", "outcome", "mailbox"
        )
    ]
