"""Benchmark: compute 1,000,000 deadlines with the deadline calendar.

Usage: .venv/bin/python bench/business_days.py [N]

Each deadline is a full "within n business days of this moment": the effective
date of a random moment (London time, close of business, holidays) plus n
business days, through the public functions of cases.business_days. Target:
under 2 s for 1,000,000 on the reference machine (2 cores).
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jpdit_complaints.settings.test")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from cases import business_days  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    call_command("migrate", verbosity=0)
    rng = random.Random(2026)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(seconds=rng.randrange(0, 6 * 365 * 86400)) for _ in range(count)]
    spans = [rng.choice((2, 10, 15)) for _ in range(count)]
    business_days.get_calendar()  # build once, as a running process would have

    due_date = business_days.due_date
    began = time.perf_counter()
    results = [due_date(moment, n) for moment, n in zip(moments, spans, strict=True)]
    elapsed = time.perf_counter() - began

    assert len(results) == count
    print(f"deadlines computed: {count:,}")
    print(f"total time:         {elapsed:.3f} s")
    print(f"per deadline:       {elapsed / count * 1e6:.2f} µs")
    print(f"target:             < 2 s for 1,000,000 -> {'MET' if elapsed * 1_000_000 / count < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
