"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from cases import business_days
from cases.models import Attachment, Category, ClosureDay, Complaint, ComplaintEvent
from cases.references import format_reference


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    email = factory.LazyAttribute(lambda u: f"{u.username}@jpditservices.com")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))


def business_days_from_today(n: int) -> dt.date:
    """The Nth business day after today (before it for negative n), London: an action's due date must be one,
    and "today + 7 days" can fall on a bank holiday whatever day the suite runs."""
    return business_days.add_business_days(business_days.london_today(), n)


def lead(**kwargs):
    return UserFactory(groups=["Complaints leads"], **kwargs)


def manager(**kwargs):
    return UserFactory(groups=["Managers"], **kwargs)


def director(**kwargs):
    return UserFactory(groups=["Directors"], **kwargs)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Iterator(["Service quality", "Response time", "Billing", "Communication", "Security incident"])


class ClosureDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClosureDay

    date = dt.date(2026, 12, 31)
    reason = "Office closed"


class ComplaintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Complaint

    reference = factory.Sequence(lambda n: format_reference(2026, 90000 + n))
    name = factory.Faker("name", locale="en_GB")
    email = factory.Faker("email")
    phone = factory.Faker("phone_number", locale="en_GB")
    organisation = factory.Faker("company", locale="en_GB")
    incident_date = dt.date(2026, 11, 2)
    description = factory.Faker("paragraph", nb_sentences=4)
    desired_outcome = "A refund of the call-out fee."
    received_at = factory.LazyFunction(timezone.now)
    acknowledgement_due = factory.LazyAttribute(lambda c: business_days.due_date(c.received_at, 2))


class AcknowledgedComplaintFactory(ComplaintFactory):
    status = Complaint.Status.ACKNOWLEDGED
    acknowledged_at = factory.LazyAttribute(lambda c: c.received_at)
    outcome_due = factory.LazyAttribute(lambda c: business_days.due_date(c.acknowledged_at, 10))


class ComplaintEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComplaintEvent

    complaint = factory.SubFactory(ComplaintFactory)
    kind = ComplaintEvent.Kind.SUBMITTED
    actor_label = "Client"
    summary = "Complaint received through the website"
    client_visible = True


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    complaint = factory.SubFactory(ComplaintFactory)
    file = factory.django.FileField(filename="evidence.txt", data=b"Call log, 2 Nov 2026\n")
    original_name = "evidence.txt"
    content_type = "text/plain"
    size = 21
    sha256 = "0" * 64
