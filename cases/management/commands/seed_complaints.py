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

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases import business_days
from cases.models import Category, Complaint, ComplaintEvent, ReferenceCounter
from cases.permissions import assignable_users
from cases.references import format_reference

Status = Complaint.Status
FIRST_NAMES = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "George",
    "Noah",
    "Arthur",
    "Leo",
    "Oscar",
    "Harry",
    "Muhammad",
    "Priya",
    "Aisha",
    "Tom",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Khan",
    "Evans",
    "Thomas",
    "Roberts",
]
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
        workers = list(assignable_users(get_user_model()))
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
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        complaint = Complaint(
            status=status,
            channel=rng.choices(Complaint.Channel.values, [70, 12, 10, 5, 3])[0],
            name=f"{first} {last}",
            email=f"{first}.{last}{rng.randrange(1000)}@example.com".lower(),
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
