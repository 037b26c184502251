"""Seed N realistic complaints quickly (bulk inserts), for benchmarks and demos at scale.

    python manage.py seed_complaints 100000

Complaints are spread over the last two years with a realistic mix of states,
channels, categories and assignees; the open ones have deadlines from the
calendar, so dashboards show due-soon and overdue cases. Reference numbers are
taken from the year's counter in blocks, exactly as single submissions take them.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from itertools import accumulate

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases import business_days
from cases.models import Category, Complaint, ComplaintEvent, ReferenceCounter
from cases.permissions import assignable_users
from cases.references import format_reference

Status = Complaint.Status
# Names as a real client base has them: a few common ones and a long tail. First names
# ranked by how common they are (weight 1 / rank^0.3: the commonest about 1 person in 45);
# surnames from a list of common British surnames (weight 1 / rank^0.6, together two fifths
# of people, Smith about 1 in 40) and, for the other three fifths, ~1,100 rarer surnames
# made from English place-name parts.
# With a handful of names instead, every person would have filed thousands of complaints
# at a million cases, and a search for one client's full name would find thousands.
FIRST_NAMES = """
    Oliver Olivia George Amelia Harry Isla Noah Ava Jack Mia Charlie Ivy Leo Lily Jacob
    Isabella Freddie Rosie Alfie Sophia Oscar Grace Arthur Freya Thomas Emily Archie Evie
    Muhammad Florence James Ella Henry Poppy William Willow Joshua Charlotte Theo Sienna
    Lucas Daisy Isaac Elsie Edward Ruby Max Alice David Sarah John Emma Michael Laura Paul
    Rachel Mark Claire Andrew Helen Richard Karen Peter Julie Daniel Jennifer Christopher
    Rebecca Matthew Hannah Robert Katie Stephen Lucy Ian Victoria Simon Nicola Gary Joanne
    Anthony Louise Kevin Kelly Jason Natalie Martin Amy Steven Jessica Craig Jade Lee
    Samantha Adam Gemma Benjamin Zoe Samuel Megan Ryan Chloe Aaron Holly Priya Aisha Raj
    Fatima Arjun Anjali Omar Zara Ali Amira Hassan Layla Yusuf Noor Kwame Ama Tomasz
    Agnieszka Piotr Katarzyna Sean Siobhan Callum Eilidh Rhys Ffion Dylan Seren Connor Niamh
    Ethan Erin Mohammed Maryam Ibrahim Hana Vikram Deepa Sanjay Meera Chen Mei Wei Lin
""".split()  # noqa: SIM905 - names read as prose
COMMON_SURNAMES = """
    Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
    Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson
    Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan
    Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell
    Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan
    Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb
    Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes
    Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham
    Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds
    Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer
    Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong
    Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page
    Marsh Riley Dunn Woods Parsons Berry
""".split()  # noqa: SIM905 - names read as prose
_SURNAME_STARTS = """
    Ash Black Brad Brook Burn Cald Cart Chap Clay Cran Dal Dun Fair Farn Gold Hal Hart Hay
    Hol Kings Lang Lind Mar Mid Mill Moor North Oak Pem Rad Red Ros Rush Sand Shel South
    Stan Stock Thorn Wal Whit Wy Ather Bel Bram Crom Dray Ever Gar Hather Ing Kel Lock Nor
    Pick Sher Tal
""".split()  # noqa: SIM905 - names read as prose
_SURNAME_ENDS = """
    ley ton wood field worth ford ham by well more bury combe dale den hurst stead wick
    cliffe brook land
""".split()  # noqa: SIM905 - names read as prose
RARE_SURNAMES = sorted({start + end for start in _SURNAME_STARTS for end in _SURNAME_ENDS} - set(COMMON_SURNAMES))
COMMON_SURNAME_SHARE = 0.4


def _cumulative(weights: list[float]) -> list[float]:
    """Running totals of the weights, as ``random.choices(cum_weights=...)`` takes them (computed once)."""
    return list(accumulate(weights))


FIRST_NAME_WEIGHTS = _cumulative([1 / rank**0.3 for rank in range(1, len(FIRST_NAMES) + 1)])
SURNAMES = COMMON_SURNAMES + RARE_SURNAMES
_common = [1 / rank**0.6 for rank in range(1, len(COMMON_SURNAMES) + 1)]
_common_total = sum(_common)
SURNAME_WEIGHTS = _cumulative(
    [COMMON_SURNAME_SHARE * weight / _common_total for weight in _common]
    + [(1 - COMMON_SURNAME_SHARE) / len(RARE_SURNAMES)] * len(RARE_SURNAMES)
)
ORGANISATIONS = ["Wycombe Dental Practice", "Chiltern Estates", "Marlow Logistics", "Bucks Legal LLP", "Amersham Foods"]
PROBLEMS = [
    "The engineer did not arrive for the scheduled visit and nobody called to rearrange.",
    "Our firewall change was applied to the wrong site and email stopped for a day.",
    "We were invoiced twice for the same month of managed backup.",
    "The penetration test report arrived three weeks late and missed our audit.",
    "Support tickets about the VPN were closed without a fix.",
    "A phishing alert was not passed on to us until the next morning.",
]
CATEGORIES = ["Service quality", "Response time", "Billing", "Communication", "Security incident"]
# Among finished cases, and among open ones, a realistic mix of states.
FINISHED_WEIGHTS = [(Status.CLOSED, 80), (Status.RESPONDED, 12), (Status.WITHDRAWN, 5), (Status.UNDER_APPEAL, 3)]
OPEN_WEIGHTS = [
    (Status.INVESTIGATING, 45),
    (Status.AWAITING_CLIENT, 15),
    (Status.ACKNOWLEDGED, 30),
    (Status.RECEIVED, 10),
]


class Command(BaseCommand):
    help = "Create N realistic complaints with bulk inserts (for benchmarks and demos at scale)."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument(
            "--open-share",
            type=float,
            default=0.05,
            help="Share of complaints still open (received in the last four weeks, as in a live system).",
        )

    def handle(self, *args, count: int, seed: int, batch: int, open_share: float, **options):
        if count < 1:
            raise CommandError("count must be at least 1")
        rng = random.Random(seed)
        started = time.perf_counter()
        categories = [Category.objects.get_or_create(name=name)[0] for name in CATEGORIES]
        workers = list(assignable_users())
        now = timezone.now()
        made = 0
        while made < count:
            size = min(batch, count - made)
            with transaction.atomic():
                rows = [self._complaint(rng, now, open_share, categories, workers) for _ in range(size)]
                self._number(rows)
                Complaint.objects.bulk_create(rows, batch_size=size)
                ComplaintEvent.objects.bulk_create(
                    [
                        ComplaintEvent(
                            complaint=row,
                            kind=ComplaintEvent.Kind.SUBMITTED,
                            actor_label="Client",
                            summary="Complaint received through the website",
                            client_visible=True,
                            to_status=Status.RECEIVED,
                            created_at=row.received_at,
                        )
                        for row in rows
                    ],
                    batch_size=size,
                )
            made += size
            self.stdout.write(f"  {made:,} / {count:,}")
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Created {count:,} complaints in {elapsed:.1f} s"))

    def _complaint(self, rng, now, open_share, categories, workers) -> Complaint:
        is_open = rng.random() < open_share
        statuses, weights = zip(*(OPEN_WEIGHTS if is_open else FINISHED_WEIGHTS), strict=True)
        status = rng.choices(statuses, weights)[0]
        max_age_days = 28 if is_open else 730
        received_at = now - timedelta(minutes=rng.randrange(0, max_age_days * 24 * 60))
        first = rng.choices(FIRST_NAMES, cum_weights=FIRST_NAME_WEIGHTS)[0]
        last = rng.choices(SURNAMES, cum_weights=SURNAME_WEIGHTS)[0]
        complaint = Complaint(
            status=status,
            channel=rng.choices(Complaint.Channel.values, [70, 12, 10, 5, 3])[0],
            name=f"{first} {last}",
            email=f"{first}.{last.replace(chr(39), '')}{rng.randrange(1000)}@example.com".lower(),
            phone=f"07700 9{rng.randrange(10000, 99999)}",
            organisation=rng.choice(ORGANISATIONS),
            incident_date=business_days.london_date(received_at - timedelta(days=rng.randrange(1, 20))),
            description=rng.choice(PROBLEMS),
            received_at=received_at,
            acknowledgement_due=business_days.due_date(received_at, 2),
            category=rng.choice(categories) if status != Status.RECEIVED else None,
        )
        if status != Status.RECEIVED:
            complaint.acknowledged_at = received_at + timedelta(hours=rng.randrange(0, 30))
            complaint.outcome_due = business_days.due_date(complaint.acknowledged_at, 10)
            if workers and rng.random() < 0.85:
                complaint.assignee = rng.choice(workers)
        if status in (Status.RESPONDED, Status.CLOSED, Status.UNDER_APPEAL):
            complaint.responded_at = complaint.acknowledged_at + timedelta(days=rng.randrange(3, 16))
            complaint.outcome = rng.choice(Complaint.Outcome.values)
            complaint.findings = "Findings recorded in the outcome letter."
        if status == Status.AWAITING_CLIENT:
            complaint.clock_stopped_at = received_at + timedelta(days=2)
        return complaint

    @staticmethod
    def _number(rows: list[Complaint]) -> None:
        """Give each new complaint the next reference of its year, in blocks per year."""
        by_year: dict[int, list[Complaint]] = {}
        for row in rows:
            by_year.setdefault(business_days.london_date(row.received_at).year, []).append(row)
        for year, members in by_year.items():
            ReferenceCounter.objects.get_or_create(year=year)
            ReferenceCounter.objects.filter(year=year).update(last=F("last") + len(members))
            last = ReferenceCounter.objects.values_list("last", flat=True).get(year=year)
            for offset, row in enumerate(members, start=last - len(members) + 1):
                row.reference = format_reference(year, offset)
