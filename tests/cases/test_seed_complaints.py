import pytest
from django.core.management import call_command

from cases.models import Complaint, ComplaintEvent
from cases.references import parse_reference
from tests.factories import manager

pytestmark = pytest.mark.django_db


def test_seed_creates_valid_numbered_complaints_with_deadlines_and_events():
    manager()
    call_command("seed_complaints", 300, "--batch", "100", "--open-share", "0.5", stdout=None)
    assert Complaint.objects.count() == 300
    assert ComplaintEvent.objects.count() == 300
    references = list(Complaint.objects.values_list("reference", flat=True))
    assert len(set(references)) == 300
    assert all(parse_reference(r) for r in references)
    open_cases = Complaint.objects.filter(status__in=Complaint.OPEN_STATUSES)
    assert 100 < open_cases.count() < 200
    assert not open_cases.exclude(status="received").filter(outcome_due__isnull=True).exists()


def test_seeded_references_continue_the_years_counter():
    call_command("seed_complaints", 10, stdout=None)
    call_command("seed_complaints", 10, stdout=None)
    assert Complaint.objects.values("reference").distinct().count() == 20


def test_seeded_names_vary_as_a_real_client_base_does():
    from collections import Counter

    from django.core.validators import validate_email

    call_command("seed_complaints", 2000, "--batch", "1000", stdout=None)
    names = Counter(Complaint.objects.values_list("name", flat=True))
    surnames = Counter(name.split(" ", 1)[1] for name in names.elements())

    # Most people have filed one complaint: no full name stands for more than a few of them.
    assert len(names) > 1500
    assert names.most_common(1)[0][1] <= 10
    # Common surnames are common (Smith about 1 in 40), and most people have a rarer one.
    assert 20 <= surnames["Smith"] <= 90
    assert sum(count for surname, count in surnames.items() if count >= 10) < 1200
    for email in Complaint.objects.values_list("email", flat=True)[:500]:
        validate_email(email)
