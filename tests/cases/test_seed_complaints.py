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
