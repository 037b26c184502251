"""Reads the email pages need: the messages waiting for a person, and one message as staff may read it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from inbound import parsing
from inbound.models import InboundEmail

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
