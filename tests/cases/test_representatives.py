"""Someone complaining on the client's behalf (issue 18, point 4): recorded at intake on the web and by staff, and
later on the case's own page, with the client's consent; the case says who receives letters and emails (the
client, the representative or both) and every email, secure link, letter, reply by email, subject-access export
and anonymisation follows it."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
import zoneinfo

import pytest
import time_machine
from django.core import mail as django_mail
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from cases import links, services
from cases.models import ClientMessage, Complaint, ComplaintEvent
from cases.services import RepresentativeDetails
from inbound import services as inbound_services
from inbound.models import InboundEmail, Mailbox
from notifications.models import Letter, OutboundMessage
from notifications.rendering import base_context
from notifications.services import message_deliver
from procedure import retention
from procedure.sweep import deadlines_sweep
from tests.appeals.helpers import lodged, responded
from tests.cases.test_access_needs import public_form
from tests.factories import AcknowledgedComplaintFactory, AttachmentFactory, director, lead, manager
from tests.inbound import mail
from tests.services import missing

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
# Monday 7 December 2026, 10:00 London: an ordinary business day.
MONDAY = dt.datetime(2026, 12, 7, 10, 0, tzinfo=LONDON)
Correspondence = Complaint.Correspondence
Event = ComplaintEvent.Kind
REP_EMAIL = "grace@hopper-law.example"


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def text_of(content) -> str:
    raw = content.content.decode() if hasattr(content, "content") else content
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def representative_fields(prefix: str = "representative_", **overrides) -> dict:
    data = {
        "name": "Grace Hopper",
        "relationship": "solicitor",
        "email": REP_EMAIL,
        "phone": "020 7946 0000",
        "address": "",
        "consent_note": "Signed letter of authority, attached.",
        "consent_given_on": "2026-12-01",
        "correspondence_to": Correspondence.BOTH,
    }
    data.update(overrides)
    return {f"{prefix}{name}": value for name, value in data.items()}


def representative(**overrides) -> RepresentativeDetails:
    values = {
        "name": "Grace Hopper",
        "relationship": "solicitor",
        "email": REP_EMAIL,
        "consent_note": "Client confirmed by phone.",
        "consent_given_on": dt.date(2026, 12, 1),
        "correspondence_to": Correspondence.BOTH,
        **overrides,
    }
    return RepresentativeDetails(**values)


def represented(correspondence=Correspondence.BOTH, **fields) -> Complaint:
    """An acknowledged complaint under investigation with a representative recorded by its manager."""
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker, name="Ada Lovelace", email="ada@example.com", **fields)
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    return services.complaint_set_representative(
        actor=worker, complaint=complaint, representative=representative(correspondence_to=correspondence)
    )


def emails(complaint, kind: str) -> dict[str, OutboundMessage]:
    """The complaint's emails of one kind, by address, delivered as the worker does."""
    found = {}
    for message in OutboundMessage.objects.filter(complaint=complaint, kind=kind):
        assert message_deliver(message.pk) == "sent"
        message.refresh_from_db()
        found[message.to_email] = message
    return found


# --- Intake on the web ---------------------------------------------------------------------------------


def test_the_public_form_records_a_representative_who_alone_gets_the_acknowledgement(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    page = text_of(client.get(reverse("public:complaint_form")))
    assert "Are you complaining for someone else?" in page
    assert "How did they agree to you complaining for them?" in page

    response = client.post(
        reverse("public:complaint_form"),
        public_form(email="", **representative_fields(correspondence_to=Correspondence.REPRESENTATIVE)),
    )

    assert response.status_code == 303, text_of(response)
    complaint = Complaint.objects.get()
    assert (complaint.representative_name, complaint.representative_relationship) == ("Grace Hopper", "solicitor")
    assert complaint.representative_email == REP_EMAIL
    assert complaint.consent_note == "Signed letter of authority, attached."
    assert complaint.consent_given_on == dt.date(2026, 12, 1)
    assert complaint.correspondence_to == Correspondence.REPRESENTATIVE
    event = complaint.events.get(kind=Event.REPRESENTATIVE)
    assert event.summary == (
        "Grace Hopper (solicitor) complains on the client's behalf; letters and emails go to Grace Hopper"
    )
    assert event.client_visible
    [acknowledgement] = emails(complaint, "complaint_acknowledgement").values()
    assert acknowledgement.to_email == REP_EMAIL
    body = acknowledgement.body_text
    assert body.startswith("Dear Grace Hopper,")
    assert "We are writing to you as Ada Lovelace's representative (solicitor), about their complaint." in body
    assert "/track/[token]/" in body  # the copy kept is masked; the email sent carries the link
    assert links.client_url(complaint) in [m for m in django_mail.outbox if m.to == [REP_EMAIL]][-1].body


def test_a_representative_half_filled_in_is_refused_field_by_field_and_nothing_is_saved(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    response = client.post(
        reverse("public:complaint_form"),
        public_form(**representative_fields(relationship="", consent_note="", consent_given_on="", email="", phone="")),
    )

    assert response.status_code == 200
    page = text_of(response)
    assert "Say how they are related to the client, for example daughter, accountant." in page
    assert "Enter an email address, phone number or postal address for the representative." in page
    assert "Say how the client gave their consent, or choose the document that gives it." in page
    assert "Enter the date the client gave their consent." in page
    assert 'href="#id_representative_relationship"' in response.content.decode()
    assert '<details class="form-section representative-section mb-4" open>' in response.content.decode()
    assert not Complaint.objects.exists()


def test_consent_cannot_be_dated_in_the_future(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    response = client.post(
        reverse("public:complaint_form"), public_form(**representative_fields(consent_given_on="2026-12-08"))
    )
    assert response.status_code == 200
    assert "The date of consent cannot be in the future." in text_of(response)
    assert not Complaint.objects.exists()


def test_emails_to_the_representative_alone_need_their_address(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    response = client.post(
        reverse("public:complaint_form"),
        public_form(
            email="",
            **representative_fields(
                email="", address="1 Fleet Street, London", correspondence_to=Correspondence.REPRESENTATIVE
            ),
        ),
    )
    assert response.status_code == 200
    assert "Enter your email address, so that we can send the reference number." in text_of(response)
    assert not Complaint.objects.exists()


def test_without_a_representative_the_client_still_needs_an_email_address_online(client, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    response = client.post(reverse("public:complaint_form"), public_form(email=""))
    assert response.status_code == 200
    assert "Enter your email address, so that we can send your reference number." in text_of(response)
    assert not Complaint.objects.exists()


# --- Intake by staff -------------------------------------------------------------------------------------


def staff_form(**overrides) -> dict:
    data = {
        "channel": Complaint.Channel.LETTER,
        "received_at": "2026-12-07T09:00",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "organisation": "",
        "preferred_contact": Complaint.ContactMethod.EMAIL,
        "postal_address": "",
        "incident_date": "2026-11-20",
        "description": "The engineer never came.",
        "desired_outcome": "",
    }
    data.update(overrides)
    return data


def test_staff_log_a_complaint_by_a_representative_and_both_are_acknowledged_by_name(client):
    client.force_login(lead())
    response = client.post(reverse("staff:complaint_log"), staff_form(**representative_fields()))

    assert response.status_code == 303, text_of(response)
    complaint = Complaint.objects.get()
    assert complaint.correspondence_to == Correspondence.BOTH
    sent = emails(complaint, "complaint_acknowledgement")
    assert set(sent) == {"ada@example.com", REP_EMAIL}
    assert sent["ada@example.com"].body_text.startswith("Dear Ada Lovelace,")
    assert "representative" not in sent["ada@example.com"].body_text.split("\n\n")[1]
    assert sent[REP_EMAIL].body_text.startswith("Dear Grace Hopper,")
    assert sent[REP_EMAIL].dedupe_key == f"complaint:{complaint.pk}:acknowledgement:representative"
    assert sent["ada@example.com"].subject == f"Your complaint {complaint.reference} has been received"
    assert sent[REP_EMAIL].subject == f"The complaint {complaint.reference} has been received"
    assert complaint.events.get(kind=Event.REPRESENTATIVE).actor is not None


def test_a_representative_without_email_gets_the_posted_acknowledgement_addressed_to_them(client):
    client.force_login(lead())
    response = client.post(
        reverse("staff:complaint_log"),
        staff_form(
            email="",
            preferred_contact=Complaint.ContactMethod.POST,
            postal_address="1 High Street\nMarlow",
            **representative_fields(
                email="", address="Hopper & Co\n2 Fleet Street\nLondon", correspondence_to=Correspondence.REPRESENTATIVE
            ),
        ),
    )

    assert response.status_code == 303, text_of(response)
    complaint = Complaint.objects.get()
    assert not OutboundMessage.objects.filter(complaint=complaint).exists()
    assert Letter.objects.filter(complaint=complaint).count() == 1
    letter = text_of(
        render_to_string(
            "letters/acknowledgement.html", {**base_context(), "complaint": complaint, "letter_date": MONDAY}
        )
    )
    assert "Grace Hopper For Ada Lovelace Hopper & Co 2 Fleet Street London" in letter
    assert "1 High Street" not in letter
    assert "Dear Grace Hopper, We are writing to you as Ada Lovelace's representative" in letter


def test_a_letter_to_both_is_addressed_to_the_client_and_names_the_representative_copied_in():
    complaint = represented(Correspondence.BOTH, postal_address="1 High Street\nMarlow")
    letter = text_of(
        render_to_string(
            "letters/acknowledgement.html", {**base_context(), "complaint": complaint, "letter_date": MONDAY}
        )
    )
    assert "Ada Lovelace" in letter
    assert "1 High Street Marlow" in letter
    assert "Copy to Grace Hopper (solicitor), acting for you" in letter
    assert "Dear Ada Lovelace," in letter


# --- Who receives what ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("correspondence", "expected"),
    [
        (Correspondence.CLIENT, {"ada@example.com"}),
        (Correspondence.REPRESENTATIVE, {REP_EMAIL}),
        (Correspondence.BOTH, {"ada@example.com", REP_EMAIL}),
    ],
)
def test_every_email_to_the_client_goes_to_whoever_the_case_says(correspondence, expected):
    complaint = represented(correspondence)
    worker = complaint.assignee
    services.complaint_send_update(actor=worker, complaint=complaint, text="We have spoken to the engineer.")

    sent = emails(complaint, "client_update")
    assert set(sent) == expected
    for address, message in sent.items():
        name = "Grace Hopper" if address == REP_EMAIL else "Ada Lovelace"
        assert message.body_text.startswith(f"Dear {name},")
        assert "We have spoken to the engineer." in message.body_text


def test_the_sweep_tells_both_that_the_appeal_window_closed():
    worker = manager()
    complaint = responded(worker, assignee=worker, name="Ada Lovelace", email="ada@example.com")
    services.complaint_set_representative(actor=worker, complaint=complaint, representative=representative())
    Complaint.objects.filter(pk=complaint.pk).update(appeal_deadline=dt.date(2026, 12, 4))

    deadlines_sweep(now=MONDAY)

    sent = emails(complaint, "complaint_closed")
    assert set(sent) == {"ada@example.com", REP_EMAIL}
    assert sent[REP_EMAIL].body_text.startswith("Dear Grace Hopper,")
    assert sent[REP_EMAIL].dedupe_key == f"complaint:{complaint.pk}:closed:representative"


def test_a_new_link_asked_for_online_goes_back_only_to_the_address_that_asked(client):
    complaint = represented(Correspondence.BOTH)
    client.post(reverse("public:new_link"), {"reference": complaint.reference, "email": REP_EMAIL.upper()})
    assert list(OutboundMessage.objects.filter(kind="client_link").values_list("to_email", flat=True)) == [REP_EMAIL]


def test_a_representative_who_gets_no_emails_cannot_ask_for_a_link(client):
    complaint = represented(Correspondence.CLIENT)
    client.post(reverse("public:new_link"), {"reference": complaint.reference, "email": REP_EMAIL})
    assert not OutboundMessage.objects.filter(kind="client_link").exists()


def test_a_reply_from_the_representative_joins_the_case():
    complaint = represented(Correspondence.REPRESENTATIVE)
    email, _created = inbound_services.email_store(
        raw=mail.plain(
            sender=f"Grace Hopper <{REP_EMAIL}>", subject=f"About {complaint.reference}", body="My client adds this."
        ),
        mailbox=Mailbox.COMPLAINTS,
        arrived_at=MONDAY,
        source="pipe",
    )
    inbound_services.email_process(email.pk)
    email.refresh_from_db()

    assert (email.state, email.complaint) == (InboundEmail.State.DONE, complaint)
    assert ClientMessage.objects.get(complaint=complaint).text == "My client adds this."


# --- The case page -----------------------------------------------------------------------------------


def test_the_manager_adds_a_representative_with_a_consent_document_on_the_case_page(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker, name="Ada Lovelace")
    scan = AttachmentFactory(complaint=complaint, original_name="authority.pdf")
    client.force_login(worker)
    case_page = text_of(client.get(reverse("staff:case", args=[complaint.reference])))
    assert "Nobody complains on the client's behalf." in case_page
    url = reverse("staff:case_representative", args=[complaint.reference])
    form = client.get(url)
    assert form.status_code == 200
    assert "authority.pdf" in text_of(form)

    response = client.post(
        url,
        {
            "representative-expected_revision": complaint.revision,
            **representative_fields(prefix="representative-", consent_note="", correspondence_to="representative"),
            "representative-consent_document": scan.pk,
        },
    )

    assert response.status_code == 302, text_of(response)
    complaint.refresh_from_db()
    assert complaint.consent_document == scan
    assert complaint.correspondence_to == Correspondence.REPRESENTATIVE
    shown = text_of(client.get(response["Location"]))
    assert "Representative recorded." in shown
    assert "(represented by Grace Hopper, solicitor)" in shown
    assert "Letters and emails go to The representative" in shown


def test_the_consent_document_must_be_the_cases_own():
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    elsewhere = AttachmentFactory()
    with pytest.raises(ValidationError) as refusal:
        services.complaint_set_representative(
            actor=worker,
            complaint=complaint,
            representative=representative(consent_note="", consent_document_id=elsewhere.pk),
        )
    assert refusal.value.message_dict == {"consent_document_id": ["Choose one of this case's documents."]}
    complaint.refresh_from_db()
    assert not complaint.has_representative


def test_an_incomplete_representative_is_refused_on_the_page_and_nothing_changes(client):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    client.force_login(worker)
    response = client.post(
        reverse("staff:case_representative", args=[complaint.reference]),
        {
            "representative-expected_revision": complaint.revision,
            **representative_fields(prefix="representative-", consent_note="", consent_given_on=""),
        },
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Enter the date the client gave their consent." in page
    complaint.refresh_from_db()
    assert not complaint.has_representative
    assert not complaint.events.filter(kind=Event.REPRESENTATIVE).exists()


def test_a_manager_not_on_the_case_cannot_open_its_representative_page(client):
    complaint = AcknowledgedComplaintFactory(assignee=manager())
    client.force_login(manager())
    assert client.get(reverse("staff:case_representative", args=[complaint.reference])).status_code == 404
    with pytest.raises(Exception) as refusal:
        services.complaint_set_representative(actor=manager(), complaint=complaint, representative=representative())
    assert "role" in str(refusal.value)


def test_removing_the_representative_revokes_their_link_and_sends_the_client_a_fresh_one(client):
    complaint = represented(Correspondence.BOTH)
    old_token = links.client_token(complaint)
    client.force_login(complaint.assignee)

    response = client.post(
        reverse("staff:case_representative", args=[complaint.reference]),
        {"representative-expected_revision": complaint.revision, "remove": "1"},
    )

    assert response.status_code == 302
    complaint.refresh_from_db()
    assert not complaint.has_representative
    assert complaint.correspondence_to == Correspondence.CLIENT
    assert not links.check_client_token(old_token).ok
    fresh = emails(complaint, "client_link")
    assert set(fresh) == {"ada@example.com"}
    sent = [m for m in django_mail.outbox if m.to == ["ada@example.com"]]
    assert links.client_url(complaint) in sent[-1].body  # the email carries the link; its stored copy is masked
    assert "/track/[token]/" in fresh["ada@example.com"].body_text
    summaries = list(complaint.events.filter(kind=Event.REPRESENTATIVE).values_list("summary", flat=True))
    assert summaries[-1] == "We no longer deal with a representative: letters and emails go to the client"


def test_changing_only_who_receives_letters_keeps_the_links_working():
    complaint = represented(Correspondence.BOTH)
    token = links.client_token(complaint)
    services.complaint_set_representative(
        actor=complaint.assignee,
        complaint=complaint,
        representative=representative(correspondence_to=Correspondence.CLIENT),
    )
    assert links.check_client_token(token).ok
    assert not OutboundMessage.objects.filter(kind="client_link").exists()


def test_a_stale_representative_form_is_refused_and_the_form_shows_the_case_as_it_is(client):
    complaint = represented(Correspondence.BOTH)
    client.force_login(complaint.assignee)
    response = client.post(
        reverse("staff:case_representative", args=[complaint.reference]),
        {
            "representative-expected_revision": complaint.revision - 1,
            **representative_fields(prefix="representative-", name="Somebody Else"),
        },
    )
    assert response.status_code == 409
    assert "someone else changed this case" in text_of(response)
    complaint.refresh_from_db()
    assert complaint.representative_name == "Grace Hopper"


def test_the_clients_page_says_who_represents_them_and_who_gets_the_letters(client):
    complaint = represented(Correspondence.BOTH)
    page = text_of(client.get(reverse("client:case", args=[links.client_token(complaint)])))
    assert "Complaining on your behalf Grace Hopper (solicitor)" in page
    assert "Our letters and emails go to you and Grace Hopper" in page
    assert "Grace Hopper (solicitor) complains on the client's behalf" in page  # the timeline entry


# --- Data protection ------------------------------------------------------------------------------------


def test_the_clients_export_holds_the_representative_and_the_representatives_holds_only_theirs():
    complaint = represented(Correspondence.BOTH)
    services.complaint_send_update(actor=complaint.assignee, complaint=complaint, text="An update for you both.")
    emails(complaint, "client_update")

    mine = retention.subject_access_export(email="ada@example.com")
    [case] = mine["complaints"]
    assert case["representative"]["name"] == "Grace Hopper"
    assert case["representative"]["consent"] == "Client confirmed by phone."
    assert case["representative"]["letters_and_emails_go_to"] == "Both"
    assert [m["to"] for m in case["emails_sent_to_you"]] == ["ada@example.com"]

    theirs = retention.subject_access_export(email=REP_EMAIL)
    [held] = theirs["complaints"]
    assert held["you_represent"] == "Ada Lovelace"
    assert held["representative"]["email"] == REP_EMAIL
    assert [m["to"] for m in held["emails_sent_to_you"]] == [REP_EMAIL]
    assert "complaint" not in held
    assert "timeline" not in held


def test_the_representatives_export_reads_as_a_pdf(client):
    if shutil.which("pdftotext") is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    represented(Correspondence.BOTH)
    client.force_login(lead())
    response = client.post(reverse("staff:subject_access"), {"email": REP_EMAIL, "file_format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "You complain on behalf of Ada Lovelace" in " ".join(text.split())
    assert "Your details as their representative" in text


def test_anonymisation_removes_the_representative_too():
    complaint = represented(Correspondence.BOTH, postal_address="1 High Street")
    retention.complaints_anonymise([complaint.pk], summary="Removed on request")
    complaint.refresh_from_db()
    assert not complaint.has_representative
    assert (complaint.representative_email, complaint.representative_phone, complaint.consent_note) == ("", "", "")
    assert complaint.consent_given_on is None
    assert complaint.correspondence_to == Correspondence.CLIENT
    assert complaint.email_recipients == []


def test_an_anonymisation_reason_may_not_name_the_representative():
    complaint = represented(Correspondence.BOTH)
    with pytest.raises(ValidationError):
        retention.complaint_anonymise_on_request(
            actor=lead(), complaint=complaint, reason="Grace Hopper asked us to on the phone."
        )
    complaint.refresh_from_db()
    assert complaint.anonymised_at is None


def test_the_directors_appeal_page_shows_the_representative(client):
    worker = manager()
    complaint = responded(worker, assignee=worker)
    services.complaint_set_representative(actor=worker, complaint=complaint, representative=representative())
    appeal = lodged(Complaint.objects.get(pk=complaint.pk))
    client.force_login(director())
    page = text_of(client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk])))
    assert f"Representative Grace Hopper (solicitor) · {REP_EMAIL} · letters and emails go to both" in page


def test_staff_pages_say_the_outcome_letter_goes_to_both_addresses(client):
    complaint = represented(Correspondence.BOTH)
    client.force_login(complaint.assignee)
    page = text_of(client.get(reverse("staff:outcome", args=[complaint.reference])))
    assert f"ada@example.com and {REP_EMAIL} (as a PDF attached to an email)" in page
