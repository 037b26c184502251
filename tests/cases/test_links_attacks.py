"""Attacks on the client's secure links (issue 7, point 3), through the real pages.

``test_links.py`` checks ``cases.links`` itself; here an attacker uses the addresses: an altered
link, case A's link on case B's letter, a link from before a revoke, an expired link, and a
reference number alone in every client and staff address. A genuine but old link gets one page,
which offers a fresh link sent to the email address on the case and shows nothing of the case;
anything else gets the not-found page, the same whatever was tried.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases import links
from cases.models import Complaint
from notifications.models import OutboundMessage
from tests.appeals.helpers import deliver, responded
from tests.factories import AcknowledgedComplaintFactory, AttachmentFactory, lead, manager

pytestmark = pytest.mark.django_db

# Every address under /track/<token>/ (and the confirmation after filing), by name and method.
CLIENT_PAGES = [
    ("client:case", "get", {}),
    ("client:appeal", "get", {}),
    ("client:reply", "post", {}),
    ("client:letter_download", "get", {"letter_id": "letter"}),
    ("client:write", "post", {}),
    ("client:withdraw", "get", {}),
    ("client:withdraw", "post", {}),
    ("client:document_download", "get", {"attachment_id": "attachment"}),
]


@pytest.fixture
def case_a():
    complaint = responded(
        manager(),
        name="Zebedee Quixote",
        email="zebedee.quixote@example.org",
        organisation="Quixotic Holdings",
        description="A uniquely worded complaint about the quantum router.",
    )
    return complaint


def secrets_of(complaint: Complaint) -> list[str]:
    return [complaint.reference, complaint.name, complaint.email, complaint.organisation, complaint.description[:30]]


def url(name: str, token: str, complaint: Complaint, extra: dict) -> str:
    kwargs = {"token": token}
    if extra.get("letter_id") == "letter":
        kwargs["letter_id"] = complaint.letters.filter(client_visible=True).first().pk
    if extra.get("attachment_id") == "attachment":
        kwargs["attachment_id"] = AttachmentFactory(complaint=complaint).pk
    return reverse(name, kwargs=kwargs)


def deliver_all(kind: str) -> list:
    """Send the pending messages of ``kind`` as the worker would; the emails that went out."""
    mail.outbox.clear()
    deliver(kind=kind)
    return list(mail.outbox)


def call(client: Client, method: str, address: str):
    return getattr(client, method)(address, {})


def page_text(response) -> str:
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    return re.sub(r'nonce="[^"]+"', "", body)


def assert_nothing_of(response, *complaints: Complaint) -> None:
    body = response.content.decode() if not response.streaming else b"".join(response.streaming_content).decode()
    for complaint in complaints:
        for secret in secrets_of(complaint):
            assert secret not in body, f"{response.request['PATH_INFO']} shows {secret!r}"


def assert_offers_only_a_fresh_link(response, token: str, complaint: Complaint) -> None:
    assert response.status_code == 410
    body = response.content.decode()
    assert reverse("client:fresh_link", args=[token]) in body
    assert_nothing_of(response, complaint)
    # One form (the fresh link), no other action on the case.
    assert body.count("<form") == 1
    assert "letters/" not in body
    assert "/reply/" not in body
    assert "/appeal/" not in body


TAMPERINGS = [
    pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="last-signature-character"),
    pytest.param(lambda token: token.replace(":", ":x", 1), id="timestamp-altered"),
    pytest.param(lambda token: "." + token[1:], id="payload-altered"),
    pytest.param(lambda token: token.split(":")[0], id="signature-removed"),
    pytest.param(lambda token: token + "A", id="signature-extended"),
    pytest.param(lambda token: token.upper(), id="upper-cased"),
    pytest.param(lambda token: signing.dumps(["0" * 32, 1], salt=links.SALT, compress=True), id="signed-no-case"),
]


@pytest.mark.parametrize("tamper", TAMPERINGS)
def test_an_altered_link_gets_the_not_found_page_on_every_client_address(tamper, case_a, client):
    good = links.client_token(case_a)
    bad = tamper(good)
    assert bad != good
    garbage = "not-a-link"
    for name, method, extra in CLIENT_PAGES:
        response = call(client, method, url(name, bad, case_a, extra))
        assert response.status_code == 404, name
        assert_nothing_of(response, case_a)
        assert f"{bad}/new-link/" not in response.content.decode()  # no new link offered for a forgery
        # The same page as for plain garbage: nothing tells a forgery that came close.
        same = call(client, method, url(name, garbage, case_a, extra))
        assert page_text(response).replace(bad, "<T>") == page_text(same).replace(garbage, "<T>"), name
    # Nor can an altered link ask for a fresh link: nothing is emailed.
    before = OutboundMessage.objects.count()
    assert client.post(reverse("client:fresh_link", args=[bad])).status_code == 404
    assert OutboundMessage.objects.count() == before
    # And the confirmation page after filing refuses it too.
    assert client.get(reverse("public:complaint_received", args=[bad])).status_code == 404


def test_case_a_link_on_case_b_letter_gets_the_not_found_page(case_a, client):
    case_b = responded(manager(), name="Barnaby Other", email="barnaby@example.net")
    letter_b = case_b.letters.filter(client_visible=True).first()
    token_a = links.client_token(case_a)

    response = client.get(reverse("client:letter_download", args=[token_a, letter_b.pk]))
    missing = client.get(reverse("client:letter_download", args=[token_a, 987654321]))

    assert response.status_code == 404
    assert not response.streaming
    assert page_text(response) == page_text(missing)
    assert_nothing_of(response, case_a, case_b)
    # The right link gets the letter: the refusal is about the link, not the letter.
    own = client.get(reverse("client:letter_download", args=[links.client_token(case_b), letter_b.pk]))
    assert own.status_code == 200
    assert own["Content-Disposition"].startswith("attachment")


def test_a_staff_only_letter_is_not_served_to_the_client_even_with_the_right_link(case_a, client):
    letter = case_a.letters.first()
    type(letter).objects.filter(pk=letter.pk).update(client_visible=False)

    response = client.get(reverse("client:letter_download", args=[links.client_token(case_a), letter.pk]))

    assert response.status_code == 404


def test_a_link_from_before_a_revoke_offers_only_a_fresh_link_everywhere(case_a, client):
    old = links.client_token(case_a)
    staff = Client()
    staff.force_login(lead())
    staff.post(
        reverse("staff:case_revoke_links", args=[case_a.reference]), {"revoke-expected_revision": case_a.revision}
    )
    case_a.refresh_from_db()
    assert case_a.client_link_version == 2

    for name, method, extra in CLIENT_PAGES:
        assert_offers_only_a_fresh_link(call(client, method, url(name, old, case_a, extra)), old, case_a)
    # The confirmation page after filing says nothing about a stale link's case either.
    assert client.get(reverse("public:complaint_received", args=[old])).status_code == 404


def test_an_expired_link_offers_only_a_fresh_link_everywhere(case_a, client, settings):
    settings.CLIENT_LINK_MAX_AGE_DAYS = 30
    issued = timezone.now()
    with time_machine.travel(issued, tick=False):
        token = links.client_token(case_a)
    with time_machine.travel(issued + timedelta(days=31), tick=False):
        for name, method, extra in CLIENT_PAGES:
            assert_offers_only_a_fresh_link(call(client, method, url(name, token, case_a, extra)), token, case_a)


def test_the_fresh_link_goes_only_to_the_email_on_the_case_whatever_is_posted(case_a, client):
    old = links.client_token(case_a)
    Complaint.objects.filter(pk=case_a.pk).update(client_link_version=2)

    response = client.post(
        reverse("client:fresh_link", args=[old]),
        {"email": "attacker@evil.example", "to_email": "attacker@evil.example", "complaint": "1"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "z***@example.org" in body
    assert case_a.email not in body
    assert "attacker@evil.example" not in body
    sent = OutboundMessage.objects.filter(kind="client_link")
    assert [m.to_email for m in sent] == [case_a.email]
    # Asked again at once: no second email (the page cannot flood the client's inbox).
    client.post(reverse("client:fresh_link", args=[old]))
    assert OutboundMessage.objects.filter(kind="client_link").count() == 1


def test_the_fresh_link_emailed_opens_the_case_and_the_old_one_stays_dead(case_a, client):
    old = links.client_token(case_a)
    Complaint.objects.filter(pk=case_a.pk).update(client_link_version=2)
    case_a.refresh_from_db()

    client.post(reverse("client:fresh_link", args=[old]))

    (email,) = deliver_all("client_link")
    assert email.to == [case_a.email]
    assert old not in email.body
    fresh = re.search(r"/track/([^/\s]+)/", email.body)[1]
    assert links.check_client_token(fresh).complaint == case_a
    assert client.get(reverse("client:case", args=[fresh])).status_code == 200
    assert client.get(reverse("client:case", args=[old])).status_code == 410


def test_a_reference_number_alone_opens_nothing(case_a, client):
    reference = case_a.reference
    letter = case_a.letters.first()
    lowered = reference.lower()
    for address in (
        reverse("client:case", args=[reference]),
        reverse("client:case", args=[lowered]),
        reverse("client:appeal", args=[reference]),
        reverse("client:letter_download", args=[reference, letter.pk]),
        reverse("public:complaint_received", args=[reference]),
        f"/track/{reference}/",
        f"/track/?reference={reference}",
        f"/?reference={reference}",
    ):
        response = client.get(address)
        assert response.status_code == 404 or (response.status_code == 200 and address.startswith("/?")), address
        body = response.content.decode()
        for secret in secrets_of(case_a)[1:]:
            assert secret not in body, address
    # The fresh-link page will not email a case for a reference either.
    assert client.post(reverse("client:fresh_link", args=[reference])).status_code == 404
    assert not OutboundMessage.objects.filter(kind="client_link").exists()
    # Staff addresses with the reference: the sign-in page for a visitor, never the case.
    for name in ("staff:case", "staff:outcome", "staff:case_audit"):
        response = client.get(reverse(name, args=[reference]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("staff:login"))


def test_a_token_made_from_the_reference_or_the_database_id_is_refused(case_a, client):
    """Guessable payloads signed with a wrong key, or unsigned, get the not-found page."""
    candidates = [
        signing.dumps([case_a.reference, 1], salt=links.SALT, key="guessed-secret-key"),
        signing.dumps([case_a.public_id.hex, 1], salt=links.SALT, key="guessed-secret-key"),
        signing.dumps([case_a.public_id.hex, 1], salt="cases.client-link.v0"),
        signing.dumps([str(case_a.pk), 1], salt=links.SALT, key="x"),
        case_a.public_id.hex,
        str(case_a.pk),
    ]
    for token in candidates:
        response = client.get(reverse("client:case", args=[token]))
        assert response.status_code == 404, token
        assert_nothing_of(response, case_a)


def test_another_clients_link_never_shows_case_a(case_a, client):
    case_b = AcknowledgedComplaintFactory(name="Barnaby Other", email="barnaby@example.net")
    token_b = links.client_token(case_b)

    for name, method, extra in CLIENT_PAGES[:3]:
        response = call(client, method, url(name, token_b, case_a, extra))
        assert response.status_code < 500
        assert_nothing_of(response, case_a)
