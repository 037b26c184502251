"""What email in adds to the staff case page: the client's messages, undelivered emails, the emails received."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.business_days import LONDON
from cases.models import Complaint
from inbound import services
from inbound.models import InboundEmail, Mailbox
from notifications.models import OutboundMessage
from notifications.services import message_deliver
from tests.factories import AcknowledgedComplaintFactory, lead, manager
from tests.inbound import mail

pytestmark = pytest.mark.django_db

ARRIVED = dt.datetime(2026, 12, 9, 10, 15, tzinfo=LONDON)  # a Wednesday morning


@pytest.fixture(autouse=True)
def _an_ordinary_morning():
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=5), tick=False):
        yield


def receive(raw: bytes) -> InboundEmail:
    email, _created = services.email_store(raw=raw, mailbox=Mailbox.COMPLAINTS, arrived_at=ARRIVED, source="pipe")
    services.email_process(email.pk)
    email.refresh_from_db()
    return email


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def worker():
    return manager(first_name="Mo", email="mo@jpditservices.com")


@pytest.fixture
def case(worker):
    return AcknowledgedComplaintFactory(email="ada@example.com", status=Complaint.Status.INVESTIGATING, assignee=worker)


def message_from_client(case) -> InboundEmail:
    return receive(
        mail.plain(
            subject=f"More about {case.reference}",
            body="One more thing: the <b>router</b> failed again.",
            message_id="<more@example.com>",
            attachments=[("photo.pdf", mail.PDF, "application/pdf")],
        )
    )


def test_the_clients_email_on_their_case_is_shown_as_plain_text_with_its_documents(client, case, worker):
    message_from_client(case)
    client.force_login(worker)
    response = client.get(reverse("staff:case", args=[case.reference]))
    page = text(response)
    assert "Messages from the client" in page
    assert "One more thing: the <b>router</b> failed again." in page  # escaped, never rendered
    assert "<b>router</b>" not in response.content.decode()
    assert "Wed 9 Dec 2026, 10:15, by email from ada@example.com" in page
    assert "With photo.pdf (see Documents)." in page


def test_a_case_the_client_never_wrote_about_has_no_messages_section(client, case, worker):
    client.force_login(worker)
    assert "Messages from the client" not in text(client.get(reverse("staff:case", args=[case.reference])))


def test_an_undelivered_email_to_the_client_is_flagged_at_the_top_of_the_case(client, case, worker):
    sent = OutboundMessage.objects.create(
        dedupe_key="t:1", kind="client_link", to_email="ada@example.com", complaint=case, context={}
    )
    message_deliver(sent.pk)
    sent.refresh_from_db()
    receive(mail.bounce(original_message_id=sent.message_id))
    client.force_login(worker)
    page = text(client.get(reverse("staff:case", args=[case.reference])))
    assert "An email to the client was not delivered" in page
    assert page.index("An email to the client was not delivered") < page.index("The complainant")
    assert "to ada@example.com was not delivered (5.1.1): reach the client another way" in page


def test_a_lead_sees_the_emails_the_case_came_from_and_can_open_them(client, case):
    email = message_from_client(case)
    boss = lead()
    client.force_login(boss)
    response = client.get(reverse("staff:case", args=[case.reference]))
    page = text(response)
    assert "Emails received" in page
    assert f"Email to complaints@: More about {case.reference}" in page
    assert "Wed 9 Dec 2026, 10:15: message from the client on their case" in page
    link = reverse("staff:email", args=[email.pk])
    assert f'href="{link}"' in response.content.decode()
    assert client.get(link).status_code == 200


def test_a_manager_gets_no_links_to_the_mailbox(client, case, worker):
    message_from_client(case)
    client.force_login(worker)
    response = client.get(reverse("staff:case", args=[case.reference]))
    assert "Emails received" not in text(response)
    assert "/staff/email-in/" not in response.content.decode()


def test_messages_and_emails_keep_the_case_page_within_its_query_budget(client, case):
    for number in range(5):
        receive(
            mail.plain(subject=f"More about {case.reference}", body=f"Point {number}.", message_id=f"<more{number}@x>")
        )
    client.force_login(lead())
    url = reverse("staff:case", args=[case.reference])
    client.get(url)  # the menus' cache
    with CaptureQueriesContext(connection) as queries:
        page = text(client.get(url))
    assert "Point 4." in page
    assert page.count("Email to complaints@") == 5
    assert len(queries) <= 11, [query["sql"][:80] for query in queries.captured_queries]
