"""'Get a new link to my complaint' on the public site: the link goes only to the email on the case, the
page answers the same whether or not the reference and address match, and it is rate limited."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutboundMessage
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db
URL = reverse("public:new_link")


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = True
    settings.LINK_REQUEST_RATE_LIMIT_PER_HOUR = 3


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def links_sent() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind="client_link"))


def test_the_page_asks_for_the_reference_and_the_email(client):
    page = text_of(client.get(URL))
    assert "Get a new link to your complaint" in page
    assert "Your reference number" in page
    assert "The email address you gave us" in page


def test_a_matching_reference_and_email_send_a_new_link_to_that_address(client):
    complaint = ComplaintFactory(email="Ada@Example.com")
    response = client.post(URL, {"reference": complaint.reference.lower(), "email": " ada@example.com "})
    assert response.status_code == 200
    assert "Check your email" in text_of(response)
    [sent] = links_sent()
    assert sent.to_email == "Ada@Example.com"
    assert sent.complaint == complaint


@pytest.mark.parametrize("case", ["other email", "unknown reference", "anonymised", "no email"])
def test_anything_else_gets_the_same_answer_and_sends_nothing(client, case):
    complaint = ComplaintFactory(email="ada@example.com")
    matching = client.post(URL, {"reference": complaint.reference, "email": "ada@example.com"})
    OutboundMessage.objects.all().delete()
    data = {"reference": complaint.reference, "email": "ada@example.com"}
    if case == "other email":
        data["email"] = "mallory@example.com"
    elif case == "unknown reference":
        data["reference"] = "JPD-2026-99999-" + _letter(2026, 99999)
    elif case == "anonymised":
        ComplaintFactory._meta.model.objects.filter(pk=complaint.pk).update(anonymised_at=timezone.now())
    else:
        ComplaintFactory._meta.model.objects.filter(pk=complaint.pk).update(email="")

    response = client.post(URL, data)

    assert response.status_code == 200
    assert text_of(response) == text_of(matching)
    assert links_sent() == []


def _letter(year: int, sequence: int) -> str:
    from cases.references import check_letter

    return check_letter(year, sequence)


def test_a_mistyped_reference_is_refused_with_a_clear_error_and_sends_nothing(client):
    complaint = ComplaintFactory(email="ada@example.com")
    wrong_letter = complaint.reference[:-1] + ("A" if complaint.reference[-1] != "A" else "B")
    response = client.post(URL, {"reference": wrong_letter, "email": "ada@example.com"})
    assert response.status_code == 400
    assert "This is not one of our reference numbers" in text_of(response)
    assert links_sent() == []


def test_at_most_one_link_per_interval_however_often_it_is_asked(client, settings):
    settings.LINK_REQUEST_RATE_LIMIT_PER_HOUR = 10
    complaint = ComplaintFactory(email="ada@example.com")
    # A fixed moment inside one interval (a real clock could cross the interval's end between two posts).
    with time_machine.travel(dt.datetime(2026, 12, 8, 10, 1, tzinfo=dt.UTC), tick=False):
        for _ in range(3):
            client.post(URL, {"reference": complaint.reference, "email": "ada@example.com"})
    assert len(links_sent()) == 1


def test_the_page_is_rate_limited_per_address(client):
    complaint = ComplaintFactory(email="ada@example.com")
    # Inside one hour's window whatever the real clock says (a window may not end between two posts).
    with time_machine.travel(dt.datetime(2026, 12, 8, 10, 1, tzinfo=dt.UTC), tick=False):
        for _ in range(3):
            assert client.post(URL, {"reference": complaint.reference, "email": "x@example.com"}).status_code == 200
        refused = client.post(URL, {"reference": complaint.reference, "email": "ada@example.com"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Please try again a little later" in text_of(refused)
    assert links_sent() == []


def test_a_broken_link_page_points_to_the_new_link_page(client):
    response = client.get(reverse("client:case", args=["broken-token"]))
    assert response.status_code == 404
    assert URL in response.content.decode()
