"""Time travel: complaints filed over Christmas 2026 and Easter 2027 meet the sweep day after day.

Each complaint is filed through the real services at its time of receipt, acknowledged (or not)
by sending its acknowledgement email, investigated, paused, extended or answered, all under a
frozen clock; between those steps the deadline sweep runs as Celery beat would. The tests then
assert which reminders and escalations went to whom, on which London date, exactly once.

Every expected date below is worked out by hand from docs/specification.md's deadline rule (never by the code
under test). The calendar of the first test, with its business days numbered:

    Dec 2026  Mon 21 B0 | Tue 22 B1 | Wed 23 B2 | Thu 24 B3 | Fri 25 Christmas Day | Sat 26, Sun 27
              Mon 28 Boxing Day (substitute) | Tue 29 B4 | Wed 30 B5 | Thu 31 B6
    Jan 2027  Fri 1 New Year's Day | Mon 4 B7 | Tue 5 B8 | Wed 6 B9 | Thu 7 B10 | Fri 8 B11
              Mon 11 B12 | Tue 12 B13 | Wed 13 B14 | Thu 14 B15 | Fri 15 company closure day (added)
              Mon 18 B16 | Tue 19 B17 | Wed 20 B18 | Thu 21 B19 | Fri 22 B20
              Mon 25 B21 | Tue 26 B22 | Wed 27 B23 | Thu 28 B24 | Fri 29 B25
    Feb 2027  Mon 1 B26 | Tue 2 B27 | Wed 3 B28 | Thu 4 B29 | Fri 5 B30 | Mon 8 B31 | Tue 9 B32
              Wed 10 B33 | Thu 11 B34 | Fri 12 B35 | Mon 15 B36 | Tue 16 B37

The rule: the effective date of a receipt is its London date if that is a business day and it
came before 17:30, else the next business day; "within N business days" is due on the Nth
business day after the effective date. A reminder goes on the first sweep from 08:00 London on
the business day before the due date; an escalation on the first sweep after the due date has
passed (here the 00:05 run of the next calendar day, holiday or not).
"""

from __future__ import annotations

import collections
import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest
import time_machine

from cases import services
from cases.models import ClosureDay, Complaint, ComplaintEvent, Deadline, Extension
from notifications import services as outbox
from notifications.models import OutboundMessage
from procedure.models import DeadlineNotice
from procedure.sweep import deadlines_sweep
from tests.factories import director, lead, manager

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = dt.UTC
REMINDER, ESCALATION = DeadlineNotice.Kind.REMINDER, DeadlineNotice.Kind.ESCALATION
ACK, OUTCOME = Deadline.ACKNOWLEDGEMENT, Deadline.OUTCOME
LEADS = ("amy", "ben")
STAFF_NOTICES = ("staff_deadline_reminder", "staff_deadline_escalation")


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """No worker consumes the queue here: the tests send by calling the outbox directly."""
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda message_id: True)


def london(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def d(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


class Office:
    """The staff, the cases by label, and the steps a test schedules on its clock."""

    def __init__(self) -> None:
        self.staff = {
            "amy": lead(username="amy", first_name="Amy", last_name="Archer"),
            "ben": lead(username="ben", first_name="Ben", last_name="Brook"),
            "cat": manager(username="cat", first_name="Cat", last_name="Cole"),
            "dan": director(username="dan", first_name="Dan", last_name="Dale"),
        }
        self.cases: dict[str, Complaint] = {}
        self.steps: list[tuple[dt.datetime, Callable[[], object]]] = []
        self.sweeps: list[tuple[dt.datetime, object]] = []

    def case(self, label: str) -> Complaint:
        return Complaint.objects.get(pk=self.cases[label].pk)

    def at(self, moment: dt.datetime, step: Callable[[], object]) -> None:
        self.steps.append((moment, step))

    # -- what people do -------------------------------------------------------------------

    def files(self, label: str, moment: dt.datetime) -> None:
        def step() -> None:
            details = services.ComplaintDetails(
                name=f"Client {label}",
                email=f"client-{label.lower()}@example.com",
                description=f"Complaint {label}: the engineer never came and nobody called.",
            )
            self.cases[label] = services.complaint_submit(details=details)

        self.at(moment, step)

    def acknowledges(self, label: str, moment: dt.datetime) -> None:
        """The acknowledgement email goes out (sending it acknowledges the complaint)."""

        def step() -> None:
            message = OutboundMessage.objects.get(kind="complaint_acknowledgement", complaint=self.cases[label])
            assert outbox.message_deliver(message.pk) == "sent"

        self.at(moment, step)

    def investigates(self, label: str, moment: dt.datetime, who: str = "cat") -> None:
        self.at(
            moment, lambda: services.complaint_start_investigation(actor=self.staff[who], complaint=self.case(label))
        )

    def asks_client(self, label: str, moment: dt.datetime, who: str = "cat") -> None:
        self.at(
            moment,
            lambda: services.complaint_request_information(
                actor=self.staff[who], complaint=self.case(label), message="Which site was the visit booked for?"
            ),
        )

    def client_replies(self, label: str, moment: dt.datetime) -> None:
        self.at(moment, lambda: services.complaint_client_reply(complaint=self.case(label), text="The Marlow office."))

    def extends(self, label: str, moment: dt.datetime, new_date: dt.date, who: str = "amy") -> None:
        self.at(
            moment,
            lambda: services.complaint_extend_deadline(
                actor=self.staff[who],
                complaint=self.case(label),
                new_date=new_date,
                reason="The engineer's logs are held by a supplier who is closed until the 18th.",
            ),
        )

    def responds(self, label: str, moment: dt.datetime, who: str = "cat") -> None:
        self.at(
            moment,
            lambda: services.complaint_issue_outcome(
                actor=self.staff[who],
                complaint=self.case(label),
                outcome="not_upheld",
                findings="The visit was booked for the Marlow office and the engineer went there.",
                reasons="The booking confirmation named the Marlow office.",
            ),
        )

    # -- the clock --------------------------------------------------------------------------

    def run(self, sweep_times: list[dt.datetime]) -> None:
        """Everything in time order under a frozen clock; at equal times the people act first.

        After each sweep the worker sends the staff emails it queued (the client's emails are
        sent only where a step above says so: an acknowledgement not sent leaves the case received).
        """
        timeline = [(moment, 0, step) for moment, step in self.steps]
        timeline += [(moment, 1, None) for moment in sweep_times]
        for moment, _, step in sorted(timeline, key=lambda item: (item[0], item[1])):
            with time_machine.travel(moment, tick=False):
                if step is None:
                    self.sweeps.append((moment, deadlines_sweep()))
                    for message in OutboundMessage.objects.filter(
                        kind__startswith="staff_", state=OutboundMessage.State.PENDING
                    ):
                        assert outbox.message_deliver(message.pk) == "sent"
                else:
                    step()

    # -- what happened ------------------------------------------------------------------------

    def staff_notices(self) -> list[tuple]:
        """(label, kind, deadline, due date, recipient, London date sent) of every staff email queued."""
        labels = {complaint.pk: label for label, complaint in self.cases.items()}
        usernames = {user.email: name for name, user in self.staff.items()}
        kinds = {"staff_deadline_reminder": REMINDER, "staff_deadline_escalation": ESCALATION}
        return [
            (
                labels[m.complaint_id],
                kinds[m.kind],
                m.context["deadline"],
                dt.date.fromisoformat(m.context["due_date"]),
                usernames[m.to_email],
                m.created_at.astimezone(LONDON).date(),
            )
            for m in OutboundMessage.objects.filter(kind__in=STAFF_NOTICES)
        ]


def every_day(first: dt.date, last: dt.date, times: tuple[tuple[int, int], ...]) -> list[dt.datetime]:
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [london(day.year, day.month, day.day, hour, minute) for day in days for hour, minute in times]


def to(recipients, row: tuple) -> list[tuple]:
    """One expected row per recipient: row is (label, kind, deadline, due, sent)."""
    label, kind, deadline, due, sent = row
    names = recipients if isinstance(recipients, tuple) else (recipients,)
    return [(label, kind, deadline, due, name, sent) for name in names]


# --- Christmas and New Year ---------------------------------------------------------------------------


def test_reminders_and_escalations_across_christmas_and_new_year_go_to_the_right_people_on_the_right_days():
    ClosureDay.objects.create(date=d(2027, 1, 15), reason="Office move")
    office = Office()

    # A: a normal Monday morning; acknowledged within the hour, investigated by Cat, never answered.
    office.files("A", london(2026, 12, 21, 10, 0))
    office.acknowledges("A", london(2026, 12, 21, 11, 0))
    office.investigates("A", london(2026, 12, 22, 9, 0))
    # B, C: the day before Christmas Eve, a minute either side of the 17:30 close; never acknowledged.
    office.files("B", london(2026, 12, 23, 17, 29))
    office.files("C", london(2026, 12, 23, 17, 31))
    # D: docs/specification.md's worked example (Thu 24 Dec 10:00, acknowledged that day); Cat pauses it over the
    # New Year (asks the client on Mon 4 Jan, answered Thu 7 Jan) and answers on the new due date.
    office.files("D", london(2026, 12, 24, 10, 0))
    office.acknowledges("D", london(2026, 12, 24, 10, 30))
    office.investigates("D", london(2026, 12, 29, 10, 0))
    office.asks_client("D", london(2027, 1, 4, 11, 0))
    office.client_replies("D", london(2027, 1, 7, 15, 0))
    office.responds("D", london(2027, 1, 18, 12, 0))
    # E0, E: Christmas Eve, a minute either side of the close; never acknowledged.
    office.files("E0", london(2026, 12, 24, 17, 29))
    office.files("E", london(2026, 12, 24, 17, 31))
    # F: Christmas Day; acknowledged Tue 29 Dec; nobody picks it up; Amy extends it on Mon 11 Jan.
    office.files("F", london(2026, 12, 25, 11, 0))
    office.acknowledges("F", london(2026, 12, 29, 9, 30))
    office.extends("F", london(2027, 1, 11, 10, 0), new_date=d(2027, 1, 20))
    # G: Boxing Day (a Saturday); the acknowledgement only goes out on Mon 4 Jan, after its escalation.
    office.files("G", london(2026, 12, 26, 14, 0))
    office.acknowledges("G", london(2027, 1, 4, 9, 0))
    # H: Sunday evening; acknowledged on the afternoon before its due date; Cat investigates.
    office.files("H", london(2026, 12, 27, 20, 0))
    office.acknowledges("H", london(2026, 12, 30, 16, 0))
    office.investigates("H", london(2027, 1, 4, 10, 0))
    # I: the Boxing Day substitute holiday; acknowledged at once (on the holiday); Cat investigates.
    office.files("I", london(2026, 12, 28, 9, 0))
    office.acknowledges("I", london(2026, 12, 28, 9, 5))
    office.investigates("I", london(2026, 12, 29, 11, 0))
    # J: New Year's Day; K: an ordinary Tuesday; L: the day before the closure day; M: on the
    # closure day. None of them acknowledged.
    office.files("J", london(2027, 1, 1, 12, 0))
    office.files("K", london(2027, 1, 12, 9, 0))
    office.files("L", london(2027, 1, 14, 17, 0))
    office.files("M", london(2027, 1, 15, 10, 0))
    # N: a Saturday in January, acknowledged first thing Monday; left unassigned.
    office.files("N", london(2027, 1, 23, 10, 0))
    office.acknowledges("N", london(2027, 1, 25, 9, 0))

    # Beat, seen three times a day: just after midnight, just after the 08:00 morning work, at noon.
    office.run(every_day(d(2026, 12, 21), d(2027, 2, 16), ((0, 5), (8, 5), (12, 5))))

    # The due dates, by hand.
    expected_due = {
        # label: (acknowledgement due, outcome due now (None if never acknowledged))
        "A": (d(2026, 12, 23), d(2027, 1, 7)),  # B0 + 2 = B2; acknowledged B0: B0 + 10 = B10 Thu 7 Jan
        "B": (d(2026, 12, 29), None),  # 17:29 counts Wed 23 (B2): B4 Tue 29 Dec
        "C": (d(2026, 12, 30), None),  # 17:31 counts Thu 24 (B3): B5 Wed 30 Dec
        # docs/specification.md: due Wed 30 Dec, outcome Tue 12 Jan (B13); paused Mon 4 (B7) to Thu 7 Jan (B10):
        # 3 business days, so B16 Mon 18 Jan (the closure day Fri 15 is skipped).
        "D": (d(2026, 12, 30), d(2027, 1, 18)),
        "E0": (d(2026, 12, 30), None),  # 17:29 counts Thu 24 (B3): B5
        "E": (d(2026, 12, 31), None),  # 17:31 counts from Tue 29 (B4): B6 Thu 31 Dec
        "F": (d(2026, 12, 31), d(2027, 1, 20)),  # from B4; acknowledged B4: B14 Wed 13 Jan, extended to Wed 20
        "G": (d(2026, 12, 31), d(2027, 1, 19)),  # from B4; acknowledged Mon 4 Jan (B7): B17 Tue 19 Jan
        "H": (d(2026, 12, 31), d(2027, 1, 14)),  # from B4; acknowledged Wed 30 Dec (B5): B15 Thu 14 Jan
        "I": (d(2026, 12, 31), d(2027, 1, 13)),  # from B4; acknowledged on the holiday, counts B4: B14
        "J": (d(2027, 1, 6), None),  # New Year's Day counts from Mon 4 (B7): B9 Wed 6 Jan
        "K": (d(2027, 1, 14), None),  # B13 + 2 = B15 Thu 14 Jan
        "L": (d(2027, 1, 19), None),  # B15 + 2 = B17 Tue 19 Jan (Fri 15 closed)
        "M": (d(2027, 1, 20), None),  # closure day counts from Mon 18 (B16): B18 Wed 20 Jan
        "N": (d(2027, 1, 27), d(2027, 2, 8)),  # from Mon 25 (B21): B23; acknowledged B21: B31 Mon 8 Feb
    }
    for label, (acknowledgement_due, outcome_due) in expected_due.items():
        complaint = office.case(label)
        assert (complaint.acknowledgement_due, complaint.outcome_due) == (acknowledgement_due, outcome_due), label

    # Who was told what, and on which London date (the reminder on the business day before the due
    # date; the escalation on the day after it, bank holiday or not).
    expected = [
        *to("cat", ("A", REMINDER, OUTCOME, d(2027, 1, 7), d(2027, 1, 6))),
        *to(LEADS, ("A", ESCALATION, OUTCOME, d(2027, 1, 7), d(2027, 1, 8))),
        *to(LEADS, ("B", REMINDER, ACK, d(2026, 12, 29), d(2026, 12, 24))),  # Christmas Eve, before the break
        *to(LEADS, ("B", ESCALATION, ACK, d(2026, 12, 29), d(2026, 12, 30))),
        *to(LEADS, ("C", REMINDER, ACK, d(2026, 12, 30), d(2026, 12, 29))),
        *to(LEADS, ("C", ESCALATION, ACK, d(2026, 12, 30), d(2026, 12, 31))),
        # D: acknowledged in time; answered on its (moved) due date: only the reminder.
        *to("cat", ("D", REMINDER, OUTCOME, d(2027, 1, 18), d(2027, 1, 14))),  # Thu: Fri 15 is closed
        *to(LEADS, ("E0", REMINDER, ACK, d(2026, 12, 30), d(2026, 12, 29))),
        *to(LEADS, ("E0", ESCALATION, ACK, d(2026, 12, 30), d(2026, 12, 31))),
        *to(LEADS, ("E", REMINDER, ACK, d(2026, 12, 31), d(2026, 12, 30))),
        *to(LEADS, ("E", ESCALATION, ACK, d(2026, 12, 31), d(2027, 1, 1))),  # on New Year's Day
        # F: nothing about 13 Jan (extended two days before); unassigned, so the leads hear.
        *to(LEADS, ("F", REMINDER, OUTCOME, d(2027, 1, 20), d(2027, 1, 19))),
        *to(LEADS, ("F", ESCALATION, OUTCOME, d(2027, 1, 20), d(2027, 1, 21))),
        *to(LEADS, ("G", REMINDER, ACK, d(2026, 12, 31), d(2026, 12, 30))),
        *to(LEADS, ("G", ESCALATION, ACK, d(2026, 12, 31), d(2027, 1, 1))),
        *to(LEADS, ("G", REMINDER, OUTCOME, d(2027, 1, 19), d(2027, 1, 18))),
        *to(LEADS, ("G", ESCALATION, OUTCOME, d(2027, 1, 19), d(2027, 1, 20))),
        # H: reminded at 08:05 on Wed 30 Dec, acknowledged that afternoon: no acknowledgement escalation.
        *to(LEADS, ("H", REMINDER, ACK, d(2026, 12, 31), d(2026, 12, 30))),
        *to("cat", ("H", REMINDER, OUTCOME, d(2027, 1, 14), d(2027, 1, 13))),
        *to(LEADS, ("H", ESCALATION, OUTCOME, d(2027, 1, 14), d(2027, 1, 15))),  # on the closure day
        *to("cat", ("I", REMINDER, OUTCOME, d(2027, 1, 13), d(2027, 1, 12))),
        *to(LEADS, ("I", ESCALATION, OUTCOME, d(2027, 1, 13), d(2027, 1, 14))),
        *to(LEADS, ("J", REMINDER, ACK, d(2027, 1, 6), d(2027, 1, 5))),
        *to(LEADS, ("J", ESCALATION, ACK, d(2027, 1, 6), d(2027, 1, 7))),
        *to(LEADS, ("K", REMINDER, ACK, d(2027, 1, 14), d(2027, 1, 13))),
        *to(LEADS, ("K", ESCALATION, ACK, d(2027, 1, 14), d(2027, 1, 15))),
        *to(LEADS, ("L", REMINDER, ACK, d(2027, 1, 19), d(2027, 1, 18))),  # Mon: Fri 15 is closed
        *to(LEADS, ("L", ESCALATION, ACK, d(2027, 1, 19), d(2027, 1, 20))),
        *to(LEADS, ("M", REMINDER, ACK, d(2027, 1, 20), d(2027, 1, 19))),
        *to(LEADS, ("M", ESCALATION, ACK, d(2027, 1, 20), d(2027, 1, 21))),
        *to(LEADS, ("N", REMINDER, OUTCOME, d(2027, 2, 8), d(2027, 2, 5))),
        *to(LEADS, ("N", ESCALATION, OUTCOME, d(2027, 2, 8), d(2027, 2, 9))),
    ]
    actual = office.staff_notices()
    assert sorted(actual) == sorted(expected)
    # Nothing twice: one email per person per notice, one notice per (case, kind, deadline, due date).
    assert [row for row, n in collections.Counter(actual).items() if n > 1] == []
    notices = DeadlineNotice.objects.filter(kind__in=[REMINDER, ESCALATION])
    assert notices.count() == len({row[:4] for row in expected}) == 32
    # Reminders only from the morning run; escalations on the first run after midnight.
    times = {(n.kind, n.created_at.astimezone(LONDON).time()) for n in notices}
    assert times == {(REMINDER, dt.time(8, 5)), (ESCALATION, dt.time(0, 5))}
    # The worker sent each email once, naming the case.
    sent = OutboundMessage.objects.filter(kind__in=STAFF_NOTICES, state=OutboundMessage.State.SENT)
    assert sent.count() == len(expected)
    assert all(message.complaint.reference in message.subject for message in sent.select_related("complaint"))
    # Each is on its case's timeline, hidden from the client.
    events = ComplaintEvent.objects.filter(kind__in=[ComplaintEvent.Kind.REMINDER_SENT, ComplaintEvent.Kind.ESCALATED])
    assert events.count() == 32
    assert not events.filter(client_visible=True).exists()

    # The extension is kept and the client was emailed about it.
    extension = Extension.objects.get(complaint=office.cases["F"])
    assert (extension.old_date, extension.new_date, extension.extended_by.username) == (
        d(2027, 1, 13),
        d(2027, 1, 20),
        "amy",
    )
    assert OutboundMessage.objects.filter(kind="deadline_extension", to_email="client-f@example.com").count() == 1

    # D was answered on Mon 18 Jan: its appeal window ends 20 business days on, Mon 15 Feb (B16 + 20
    # = B36); the first run after that closes it and tells the client, once.
    closed = office.case("D")
    assert (closed.appeal_deadline, closed.status) == (d(2027, 2, 15), Complaint.Status.CLOSED)
    (closure,) = OutboundMessage.objects.filter(kind="complaint_closed")
    assert (closure.to_email, closure.created_at) == ("client-d@example.com", london(2027, 2, 16, 0, 5))
    # The Director had nothing to do with any of this (no appeals).
    assert not OutboundMessage.objects.filter(to_email=office.staff["dan"].email).exists()


# --- The clock change of March 2027 -------------------------------------------------------------------


def test_the_sweep_keeps_to_london_time_across_the_march_2027_clock_change():
    """BST starts on Sun 28 Mar 2027 at 01:00 GMT. Easter falls on that weekend: Good Friday (Fri 26)
    and Easter Monday (Mon 29) are bank holidays, so the business days are

        Wed 24 Mar | Thu 25 | (Fri 26 .. Mon 29) | Tue 30 | Wed 31 | Thu 1 Apr | Fri 2 Apr

    Beat runs on the UTC clock: every 15 minutes around the first midnight of Easter (Thu 25 Mar
    22:00 to Fri 26 Mar 02:00 UTC) and over the change (Sat 27 Mar 20:00 to Sun 28 Mar 06:00 UTC),
    on the hour the rest of the time. Morning work belongs at 08:00
    London: 08:00 UTC before the change, 07:00 UTC after; the first run after a due date passes is
    at London midnight: 00:00 UTC before, 23:00 UTC (the evening before) after.
    """
    office = Office()
    # Due on the Thursday before Easter: escalated on the first run of Good Friday, 00:00 GMT.
    office.files("Q", london(2027, 3, 23, 10, 0))  # counts Tue 23: due Thu 25 Mar (Wed 24, Thu 25)
    # A before the change, due on the first business day after it.
    office.files("P0", london(2027, 3, 24, 10, 0))  # counts Wed 24: due Tue 30 Mar (Thu 25, Tue 30)
    # A minute either side of the 17:30 close, on each day around the change.
    office.files("P1", london(2027, 3, 25, 17, 29))  # counts Thu 25: due Wed 31 Mar (Tue 30, Wed 31)
    office.files("P2", london(2027, 3, 25, 17, 31))  # counts Tue 30: due Thu 1 Apr
    office.files("P3", london(2027, 3, 26, 17, 29))  # Good Friday: counts Tue 30: due Thu 1 Apr
    office.files("P4", london(2027, 3, 26, 17, 31))  # Good Friday: counts Tue 30: due Thu 1 Apr
    office.files("P5", london(2027, 3, 29, 17, 29))  # Easter Monday (BST): counts Tue 30: due Thu 1 Apr
    office.files("P6", london(2027, 3, 29, 17, 31))  # Easter Monday (BST): counts Tue 30: due Thu 1 Apr
    # The first business day in BST: 17:29 BST is 16:29 UTC, before the close; 17:31 BST is after it.
    office.files("P7", london(2027, 3, 30, 17, 29))  # counts Tue 30: due Thu 1 Apr
    office.files("P8", london(2027, 3, 30, 17, 31))  # counts Wed 31: due Fri 2 Apr
    # Beat on the UTC clock, Wed 24 Mar 00:00 to Fri 2 Apr 23:00 UTC: on the hour (enough to tell
    # 07:00 from 08:00 UTC, and fast), every 15 minutes over Good Friday's first midnight and the change.
    start = dt.datetime(2027, 3, 24, 0, 0, tzinfo=UTC)
    good_friday, change = dt.datetime(2027, 3, 25, 22, 0, tzinfo=UTC), dt.datetime(2027, 3, 27, 20, 0, tzinfo=UTC)
    hourly = [start + dt.timedelta(hours=n) for n in range(10 * 24)]
    quarter_hours = [good_friday + dt.timedelta(minutes=15 * n) for n in range(17)]
    quarter_hours += [change + dt.timedelta(minutes=15 * n) for n in range(41)]
    office.run(sorted(set(hourly) | set(quarter_hours)))

    assert {label: office.case(label).acknowledgement_due for label in office.cases} == {
        "Q": d(2027, 3, 25),
        "P0": d(2027, 3, 30),
        "P1": d(2027, 3, 31),
        "P2": d(2027, 4, 1),
        "P3": d(2027, 4, 1),
        "P4": d(2027, 4, 1),
        "P5": d(2027, 4, 1),
        "P6": d(2027, 4, 1),
        "P7": d(2027, 4, 1),
        "P8": d(2027, 4, 2),
    }
    assert [office.case(label).received_at for label in ("P5", "P7", "P8")] == [
        dt.datetime(2027, 3, 29, 16, 29, tzinfo=UTC),
        dt.datetime(2027, 3, 30, 16, 29, tzinfo=UTC),
        dt.datetime(2027, 3, 30, 16, 31, tzinfo=UTC),
    ]

    # Over the change itself (Sat 20:00 to Sun 06:00 UTC): 41 runs, 01:00 GMT becoming 02:00 BST
    # among them, and nothing to do.
    night = [report for moment, report in office.sweeps if change <= moment <= change + dt.timedelta(hours=10)]
    assert len(night) == 41
    assert not any(r.reminders or r.escalations or r.closures or r.daily_work for r in night)
    # Around Good Friday's first midnight, one thing: Q's escalation, on the first run of the day.
    around = [
        (moment, report)
        for moment, report in office.sweeps
        if good_friday <= moment <= good_friday + dt.timedelta(hours=4)
    ]
    assert len(around) == 17
    assert [moment for moment, report in around if report.escalations or report.reminders] == [
        dt.datetime(2027, 3, 26, 0, 0, tzinfo=UTC)
    ]

    # The morning work ran once per business day, at 08:00 London whatever UTC says.
    mornings = [moment for moment, report in office.sweeps if report.daily_work]
    assert mornings == [
        dt.datetime(2027, 3, 24, 8, 0, tzinfo=UTC),  # Wed (GMT)
        dt.datetime(2027, 3, 25, 8, 0, tzinfo=UTC),  # Thu (GMT)
        dt.datetime(2027, 3, 30, 7, 0, tzinfo=UTC),  # Tue (BST): not Fri 26, Sat, Sun or Mon 29
        dt.datetime(2027, 3, 31, 7, 0, tzinfo=UTC),
        dt.datetime(2027, 4, 1, 7, 0, tzinfo=UTC),
        dt.datetime(2027, 4, 2, 7, 0, tzinfo=UTC),
    ]

    # Each reminder and escalation once per lead, at the exact run (UTC) that should send it.
    def thursday_1_april(label: str) -> list[tuple]:
        return [
            (label, REMINDER, dt.datetime(2027, 3, 31, 7, 0, tzinfo=UTC)),
            (label, ESCALATION, dt.datetime(2027, 4, 1, 23, 0, tzinfo=UTC)),  # 00:00 BST Fri 2 Apr
        ]

    expected = [
        ("Q", REMINDER, dt.datetime(2027, 3, 24, 8, 0, tzinfo=UTC)),  # Wed 24 Mar, 08:00 GMT
        ("Q", ESCALATION, dt.datetime(2027, 3, 26, 0, 0, tzinfo=UTC)),  # 00:00 GMT Good Friday, not 23:45
        ("P0", REMINDER, dt.datetime(2027, 3, 25, 8, 0, tzinfo=UTC)),  # Thu 25 Mar, 08:00 GMT
        ("P0", ESCALATION, dt.datetime(2027, 3, 30, 23, 0, tzinfo=UTC)),  # 00:00 BST Wed 31 Mar
        ("P1", REMINDER, dt.datetime(2027, 3, 30, 7, 0, tzinfo=UTC)),  # Tue 30 Mar, 08:00 BST
        ("P1", ESCALATION, dt.datetime(2027, 3, 31, 23, 0, tzinfo=UTC)),
        *[row for label in ("P2", "P3", "P4", "P5", "P6", "P7") for row in thursday_1_april(label)],
        ("P8", REMINDER, dt.datetime(2027, 4, 1, 7, 0, tzinfo=UTC)),
        ("P8", ESCALATION, dt.datetime(2027, 4, 2, 23, 0, tzinfo=UTC)),
    ]
    labels = {complaint.pk: label for label, complaint in office.cases.items()}
    kinds = {"staff_deadline_reminder": REMINDER, "staff_deadline_escalation": ESCALATION}
    usernames = {user.email: name for name, user in office.staff.items()}
    actual = sorted(
        (labels[m.complaint_id], kinds[m.kind], m.created_at.astimezone(UTC), usernames[m.to_email])
        for m in OutboundMessage.objects.filter(kind__in=STAFF_NOTICES)
    )
    assert actual == sorted((label, kind, when, name) for label, kind, when in expected for name in LEADS)
    assert DeadlineNotice.objects.count() == len(expected) == 20
