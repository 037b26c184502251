"""The staff case page (issue 3, item 3): details, documents, timeline, notes and the actions allowed now."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.models import Complaint, ComplaintEvent, InformationRequest, Note
from notifications.models import Letter, OutboundMessage
from notifications.rendering import render_email
from tests.factories import (
    AcknowledgedComplaintFactory,
    AttachmentFactory,
    CategoryFactory,
    ComplaintFactory,
    business_days_from_today,
    director,
    lead,
    manager,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
Status = Complaint.Status


def case_url(complaint) -> str:
    return reverse("staff:case", args=[complaint.reference])


def action_url(name: str, complaint) -> str:
    return reverse(f"staff:{name}", args=[complaint.reference])


def text_of(response) -> str:
    """The page as a person reads it: tags removed, entities decoded, spaces normalised."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def form_data(prefix: str, complaint, **fields) -> dict:
    """A case form as the page posts it: prefixed fields plus the revision the user saw."""
    complaint.refresh_from_db()
    data = {f"{prefix}-expected_revision": complaint.revision, f"{prefix}-seen_event": 0}
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return data


def investigating(worker=None, **kwargs) -> Complaint:
    worker = worker or manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker, **kwargs)
    return services.complaint_start_investigation(actor=worker, complaint=complaint)


@pytest.fixture
def boss():
    return lead(first_name="Lena", last_name="Lead")


@pytest.fixture
def worker():
    return manager(first_name="Max", last_name="Manager")


@pytest.fixture
def as_lead(client, boss):
    client.force_login(boss)
    return client


# --- Every detail ---------------------------------------------------------------------------


def test_case_page_shows_every_detail_of_the_complaint(as_lead, worker):
    category = CategoryFactory(name="Billing")
    complaint = investigating(
        worker,
        name="Ada Lovelace",
        email="ada@example.com",
        phone="01494 123456",
        organisation="Analytical Engines Ltd",
        preferred_contact=Complaint.ContactMethod.POST,
        postal_address="1 High Street\nMarlow\nSL7 1AA",
        incident_date=dt.date(2026, 11, 2),
        description="The engineer never arrived.\n\nTwice.",
        desired_outcome="Refund the call-out fee.",
        channel=Complaint.Channel.PHONE,
        category=category,
    )
    response = as_lead.get(case_url(complaint))
    page = text_of(response)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")  # never_cache: no copy kept anywhere
    for expected in (
        complaint.reference,
        "Ada Lovelace",
        "ada@example.com",
        "01494 123456",
        "Analytical Engines Ltd",
        "Contact by Post",
        "1 High Street Marlow SL7 1AA",
        "2 November 2026",
        "The engineer never arrived.",
        "Refund the call-out fee.",
        "by phone",
        "Under investigation",
        "Max Manager",
        "Billing",
    ):
        assert expected in page, expected
    outcome_due = complaint.outcome_due
    assert f"Due {outcome_due:%A} {outcome_due.day} {outcome_due:%B %Y}" in page
    assert re.search(r"due (today|in \d+ business days?)", page)
    received = complaint.received_local
    assert f"{received:%A} {received.day} {received:%B %Y}, {received:%H:%M}" in page


def test_a_complaint_received_after_close_of_business_shows_the_day_it_counts_from(as_lead):
    friday_evening = dt.datetime(2026, 11, 27, 18, 0, tzinfo=LONDON)
    complaint = ComplaintFactory(received_at=friday_evening)
    page = text_of(as_lead.get(case_url(complaint)))
    assert "Friday 27 November 2026, 18:00" in page
    assert "Counts as received Monday 30 November 2026" in page
    assert "Due Wednesday 2 December 2026" in page  # the acknowledgement


def test_deadline_label_counts_business_days(client, boss):
    with time_machine.travel(dt.datetime(2027, 1, 11, 10, 0, tzinfo=LONDON), tick=False):  # Monday
        as_lead = client
        as_lead.force_login(boss)  # the session is made at the frozen time
        complaint = AcknowledgedComplaintFactory(outcome_due=dt.date(2027, 1, 13))
        page = text_of(as_lead.get(case_url(complaint)))
        assert "due in 2 business days" in page
        complaint.outcome_due = dt.date(2027, 1, 8)  # the Friday before
        complaint.save()
        page = text_of(as_lead.get(case_url(complaint)))
        assert "overdue by 1 business day" in page


def test_client_text_is_escaped(as_lead):
    complaint = ComplaintFactory(name="<script>alert(1)</script>", description="<img src=x onerror=alert(2)>")
    content = as_lead.get(case_url(complaint)).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<img src=x" not in content


def test_an_outcome_shows_findings_actions_and_letters(as_lead, boss, worker):
    complaint = investigating(worker)
    services.complaint_issue_outcome(
        actor=worker,
        complaint=complaint,
        outcome=Complaint.Outcome.UPHELD,
        findings="The visit was booked for the wrong day.",
        actions=[
            services.ActionSpec(
                kind="put_right",
                description="Refund the call-out fee.",
                owner=boss,
                due_date=business_days_from_today(7),
            )
        ],
    )
    page = text_of(as_lead.get(case_url(complaint)))
    assert "Outcome: Upheld" in page
    assert "The visit was booked for the wrong day." in page
    assert "Put things right: Refund the call-out fee." in page
    assert "Owner Lena Lead" in page
    letter = Letter.objects.get(complaint=complaint)
    assert (
        reverse("staff:letter_download", args=[complaint.reference, letter.pk])
        in as_lead.get(case_url(complaint)).content.decode()
    )
    assert "Write the outcome" not in page  # responded: no outcome to write


# --- Documents ------------------------------------------------------------------------------------


def test_documents_download_only_through_the_permission_checked_view(client, worker):
    complaint = investigating(worker)
    attachment = AttachmentFactory(complaint=complaint, original_name="router log.txt")
    url = reverse("staff:attachment_download", args=[complaint.reference, attachment.pk])

    client.force_login(worker)
    page = client.get(case_url(complaint)).content.decode()
    assert f'href="{url}"' in page
    assert str(complaint.public_id) not in page  # no storage path on the page

    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Call log, 2 Nov 2026\n"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "router log.txt" in response["Content-Disposition"]
    assert response["Content-Type"] == "text/plain"
    assert response["X-Content-Type-Options"] == "nosniff"

    # Someone without a role in the case gets the same 404 as for a document that does not exist.
    client.force_login(manager())
    assert client.get(url).status_code == 404


def test_a_document_of_another_case_is_not_reachable_through_this_one(as_lead):
    mine, other = ComplaintFactory(), ComplaintFactory()
    attachment = AttachmentFactory(complaint=other)
    assert as_lead.get(reverse("staff:attachment_download", args=[mine.reference, attachment.pk])).status_code == 404


def test_a_document_whose_file_is_gone_is_404(as_lead):
    attachment = AttachmentFactory()
    attachment.file.delete(save=False)
    url = reverse("staff:attachment_download", args=[attachment.complaint.reference, attachment.pk])
    assert as_lead.get(url).status_code == 404


def test_letters_still_download_through_the_shared_file_helper(as_lead, boss):
    complaint = ComplaintFactory(email="")
    letter = Letter(complaint=complaint, kind="acknowledgement")
    letter.file.save("x.pdf", ContentFile(b"%PDF-1.7 test"), save=False)
    letter.save()
    response = as_lead.get(reverse("staff:letter_download", args=[complaint.reference, letter.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert f"{complaint.reference}-acknowledgement.pdf" in response["Content-Disposition"]
    assert "Acknowledgement letter" in text_of(as_lead.get(case_url(complaint)))


# --- Timeline and notes ----------------------------------------------------------------------------


def test_timeline_marks_what_the_client_can_see(as_lead, worker):
    complaint = investigating(worker)  # "We started investigating" is client-visible
    services.complaint_add_note(actor=worker, complaint=complaint, text="Rang the site manager.")
    response = as_lead.get(case_url(complaint))
    timeline = response.content.decode().split('id="timeline-heading"')[1].split("</section>")[0]
    entries = re.findall(r"<li.*?</li>", timeline, flags=re.S)
    assert len(entries) == 2
    started, note = entries
    assert "We started investigating the complaint" in started
    assert "Client can see this" in started
    assert "Internal note added" in note
    assert "Client can see this" not in note
    assert "Acknowledged → Under investigation" in started


def test_notes_are_listed_and_a_new_one_is_added(as_lead, boss, worker):
    complaint = investigating(worker)
    services.complaint_add_note(actor=worker, complaint=complaint, text="First <b>call</b>.")
    response = as_lead.post(action_url("case_note", complaint), form_data("note", complaint, text="Second note."))
    assert response.status_code == 303
    assert response["Location"] == case_url(complaint) + "#notes"
    page = as_lead.get(response["Location"])
    text = text_of(page)
    assert "Note added." in text  # the success notice
    assert text.index("First <b>call</b>.") < text.index("Second note.")
    assert "Max Manager" in text
    assert "Lena Lead" in text
    assert list(Note.objects.filter(complaint=complaint).values_list("text", flat=True)) == [
        "First <b>call</b>.",
        "Second note.",
    ]


def test_an_empty_note_is_refused_next_to_its_form_and_nothing_is_added(as_lead, worker):
    complaint = investigating(worker)
    response = as_lead.post(action_url("case_note", complaint), form_data("note", complaint, text="   "))
    assert response.status_code == 400
    assert "Write the note." in text_of(response)
    assert 'id="note-panel"' in response.content.decode()
    assert not Note.objects.exists()


# --- Actions: shown only when allowed -------------------------------------------------------------


def buttons(response) -> set[str]:
    """Which action forms the page offers."""
    page = response.content.decode()
    names = ("case_assign", "case_pick_up", "case_start", "case_categorise", "case_request_information", "case_note")
    offered = set()
    for name in names:
        url = reverse(f"staff:{name}", args=[response.context["complaint"].reference])
        if f'action="{url}#' in page:
            offered.add(name)
    if reverse("staff:outcome", args=[response.context["complaint"].reference]) in page:
        offered.add("outcome")
    return offered


def test_a_lead_on_an_acknowledged_case_may_assign_start_categorise_and_note(as_lead):
    complaint = AcknowledgedComplaintFactory()
    assert buttons(as_lead.get(case_url(complaint))) == {"case_assign", "case_start", "case_categorise", "case_note"}


def test_a_manager_on_an_unassigned_case_may_pick_it_up_but_not_assign_it(client):
    client.force_login(manager())
    complaint = AcknowledgedComplaintFactory()
    offered = buttons(client.get(case_url(complaint)))
    assert offered == {"case_pick_up", "case_start", "case_categorise", "case_note"}
    assert "Pick up this case" in client.get(case_url(complaint)).content.decode()


def test_an_investigating_case_offers_the_question_and_the_outcome(client, worker):
    client.force_login(worker)
    complaint = investigating(worker)
    assert buttons(client.get(case_url(complaint))) == {
        "case_request_information",
        "outcome",
        "case_categorise",
        "case_note",
    }


def test_a_case_waiting_for_the_client_says_the_clock_is_stopped_and_offers_no_transition(client, worker):
    client.force_login(worker)
    complaint = investigating(worker)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")
    response = client.get(case_url(complaint))
    assert buttons(response) == {"case_categorise", "case_note"}
    page = text_of(response)
    assert "Waiting for information from the client" in page
    assert "Clock stopped since" in page
    assert "Waiting for the client's answer." in page
    assert "Which site?" in page


def test_a_received_case_offers_no_investigation_step(as_lead):
    complaint = ComplaintFactory()
    offered = buttons(as_lead.get(case_url(complaint)))
    assert "case_start" not in offered
    assert "case_request_information" not in offered
    assert "outcome" not in offered
    assert "Not acknowledged yet" in text_of(as_lead.get(case_url(complaint)))


def test_lead_assign_list_holds_only_people_who_work_cases(as_lead, boss, worker):
    other_director = director(first_name="Dora", last_name="Director")
    complaint = AcknowledgedComplaintFactory()
    page = as_lead.get(case_url(complaint)).content.decode()
    select = page.split('name="assign-assignee"')[1].split("</select>")[0]
    assert "Max Manager" in select
    assert "Lena Lead" in select
    assert other_director.last_name not in select


# --- Actions: doing them ---------------------------------------------------------------------------


def test_lead_assigns_the_case_and_the_manager_is_emailed(as_lead, worker):
    complaint = AcknowledgedComplaintFactory()
    response = as_lead.post(action_url("case_assign", complaint), form_data("assign", complaint, assignee=worker.pk))
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.assignee == worker
    assert OutboundMessage.objects.filter(kind="staff_assignment", to_email=worker.email).count() == 1
    assert "Assignment saved." in text_of(as_lead.get(response["Location"]))


def test_lead_returns_a_case_to_the_queue(as_lead, worker):
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    response = as_lead.post(action_url("case_assign", complaint), form_data("assign", complaint, assignee=""))
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.assignee is None


def test_manager_picks_up_an_unassigned_case(client, worker):
    client.force_login(worker)
    complaint = AcknowledgedComplaintFactory()
    response = client.post(action_url("case_pick_up", complaint), form_data("pickup", complaint))
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.assignee == worker
    # Assigning yourself sends you no email.
    assert not OutboundMessage.objects.filter(kind="staff_assignment").exists()


def test_manager_cannot_give_a_visible_case_to_someone_else(client, worker):
    client.force_login(worker)
    complaint = AcknowledgedComplaintFactory()  # unassigned: visible to every manager
    other = manager()
    response = client.post(action_url("case_assign", complaint), form_data("assign", complaint, assignee=other.pk))
    assert response.status_code == 403
    assert "Only complaints leads assign cases" in text_of(response)
    complaint.refresh_from_db()
    assert complaint.assignee is None
    assert complaint.revision == 0


def test_start_investigation(client, worker):
    client.force_login(worker)
    complaint = AcknowledgedComplaintFactory()
    response = client.post(action_url("case_start", complaint), form_data("start", complaint))
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.assignee == worker
    assert "Investigation started." in text_of(client.get(response["Location"]))


def test_an_illegal_transition_is_refused_with_a_clear_message_and_changes_nothing(as_lead):
    complaint = ComplaintFactory()  # received: not acknowledged yet
    response = as_lead.post(action_url("case_start", complaint), form_data("start", complaint))
    assert response.status_code == 409
    page = text_of(response)
    assert f"Complaint {complaint.reference} is received; it cannot become under investigation." in page
    assert "Nothing was changed." in page
    complaint.refresh_from_db()
    assert complaint.status == Status.RECEIVED
    assert not complaint.events.exists()


def test_only_the_clients_answer_resumes_a_case_waiting_for_them(client, worker):
    """awaiting_client → investigating is in the table, but "start investigation" may not take it."""
    client.force_login(worker)
    complaint = investigating(worker)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")
    response = client.post(action_url("case_start", complaint), form_data("start", complaint))
    assert response.status_code == 409
    assert "cannot become under investigation" in text_of(response)
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT
    assert complaint.clock_stopped_at is not None


def test_categorise_offers_active_categories_and_saves_one(as_lead):
    billing = CategoryFactory(name="Billing")
    CategoryFactory(name="Old scheme", active=False)
    complaint = AcknowledgedComplaintFactory()
    select = as_lead.get(case_url(complaint)).content.decode().split('name="categorise-category"')[1]
    select = select.split("</select>")[0]
    assert "Billing" in select
    assert "Old scheme" not in select
    response = as_lead.post(
        action_url("case_categorise", complaint), form_data("categorise", complaint, category=billing.pk)
    )
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.category == billing
    assert complaint.events.filter(kind=ComplaintEvent.Kind.CATEGORISED, summary="Categorised as Billing").exists()


def test_a_retired_category_is_refused(as_lead):
    retired = CategoryFactory(name="Old scheme", active=False)
    complaint = AcknowledgedComplaintFactory()
    response = as_lead.post(
        action_url("case_categorise", complaint), form_data("categorise", complaint, category=retired.pk)
    )
    assert response.status_code == 400
    assert "it may have been retired" in text_of(response)
    complaint.refresh_from_db()
    assert complaint.category is None


def test_request_information_stops_the_clock_and_emails_the_client(client, worker):
    client.force_login(worker)
    complaint = investigating(worker)
    response = client.post(
        action_url("case_request_information", complaint),
        form_data("request", complaint, message="Which site was affected?"),
    )
    assert response.status_code == 303
    complaint.refresh_from_db()
    assert complaint.status == Status.AWAITING_CLIENT
    assert complaint.clock_stopped_at is not None
    assert InformationRequest.objects.get(complaint=complaint).message == "Which site was affected?"
    message = OutboundMessage.objects.get(kind="information_request", complaint=complaint)
    assert message.to_email == complaint.email
    assert "investigation clock has stopped" in text_of(client.get(response["Location"]))


def test_the_question_form_says_the_clock_will_stop(client, worker):
    client.force_login(worker)
    complaint = investigating(worker)
    page = text_of(client.get(case_url(complaint)))
    assert "the investigation clock stops until they answer" in page


def test_previewing_the_question_shows_the_email_and_changes_nothing(client, worker):
    client.force_login(worker)
    complaint = investigating(worker, email="ada@example.com")
    data = form_data("request", complaint, message="Which <site> was affected?")
    data["preview"] = "1"
    response = client.post(action_url("case_request_information", complaint), data)
    assert response.status_code == 200
    page = text_of(response)
    assert "Preview: what the client receives at ada@example.com" in page
    assert f"Complaint {complaint.reference}: we need more information from you" in page
    assert "Which <site> was affected?" in page
    assert "<site>" not in response.content.decode()  # escaped
    # The question stays in the form, ready to send.
    assert "Which &lt;site&gt; was affected?</textarea>" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert not InformationRequest.objects.exists()
    assert not OutboundMessage.objects.filter(kind="information_request").exists()


def test_an_empty_question_is_refused(client, worker):
    client.force_login(worker)
    complaint = investigating(worker)
    response = client.post(
        action_url("case_request_information", complaint), form_data("request", complaint, message=" ")
    )
    assert response.status_code == 400
    assert "Write the question to the client." in text_of(response)
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING


def test_a_client_without_email_is_flagged_before_the_question_is_sent(client, worker):
    client.force_login(worker)
    complaint = investigating(worker, email="", preferred_contact=Complaint.ContactMethod.PHONE)
    assert "This client has no email address: nothing will be emailed." in text_of(client.get(case_url(complaint)))


def test_a_form_without_its_revision_is_refused(client, worker):
    client.force_login(worker)
    complaint = AcknowledgedComplaintFactory()
    response = client.post(action_url("case_start", complaint), {})
    assert response.status_code == 400
    assert "This form is out of date" in text_of(response)
    complaint.refresh_from_db()
    assert complaint.status == Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    "name", ["case_note", "case_assign", "case_pick_up", "case_start", "case_categorise", "case_request_information"]
)
def test_changes_are_post_only(as_lead, name):
    complaint = AcknowledgedComplaintFactory()
    assert as_lead.get(action_url(name, complaint)).status_code == 405
    complaint.refresh_from_db()
    assert complaint.revision == 0


# --- A fixed number of queries --------------------------------------------------------------------


def count_queries(client, url, *, menus_cached: bool = False) -> int:
    """Queries of one request for the page; by default with the menus' cache empty (the worst case)."""
    from django.core.cache import cache

    from cases.selectors import OPTIONS_CACHE_KEY, PARAGRAPHS_CACHE_KEY

    if not menus_cached:
        cache.delete_many([OPTIONS_CACHE_KEY, PARAGRAPHS_CACHE_KEY])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_case_page_uses_a_fixed_number_of_queries(as_lead, boss, worker):
    complaint = investigating(worker)
    CategoryFactory(name="Billing")
    small = count_queries(as_lead, case_url(complaint))

    for n in range(15):
        services.complaint_add_note(actor=worker, complaint=complaint, text=f"Note {n}")
        AttachmentFactory(complaint=complaint, original_name=f"doc{n}.txt")
        CategoryFactory(name=f"Category {n}")
        manager(first_name=f"M{n}")
    for _ in range(3):
        complaint.refresh_from_db()
        services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")
        services.complaint_client_reply(complaint=complaint, text="Wycombe")
    # Related complaints, a duplicate merged in, and the client's others by email address and organisation.
    for n in range(12):
        other = AcknowledgedComplaintFactory(
            email=complaint.email if n % 2 else "", organisation=complaint.organisation
        )
        if n < 3:
            services.complaint_link_related(actor=boss, complaint=complaint, reference=other.reference)
    duplicate = AcknowledgedComplaintFactory(email=complaint.email)
    services.complaint_merge(actor=boss, complaint=duplicate, into=complaint.reference)
    large = count_queries(as_lead, case_url(complaint))

    assert small == large
    assert large <= 11
    # The assign and category menus (1 query for both) and the reusable paragraphs (1) come from a minute's cache.
    assert count_queries(as_lead, case_url(complaint), menus_cached=True) == large - 2


def test_a_responded_case_with_letters_and_actions_stays_within_the_budget(as_lead, boss, worker):
    complaint = investigating(worker)
    services.complaint_add_note(actor=worker, complaint=complaint, text="Checked.")
    services.complaint_issue_outcome(
        actor=worker,
        complaint=complaint,
        outcome=Complaint.Outcome.PARTIALLY_UPHELD,
        findings="Partly late.",
        actions=[
            services.ActionSpec(
                kind="prevent_recurrence",
                description="Retrain the rota team.",
                owner=boss,
                due_date=business_days_from_today(10),
            )
        ],
    )
    AttachmentFactory(complaint=complaint)
    assert count_queries(as_lead, case_url(complaint)) <= 11


# --- Emails --------------------------------------------------------------------------------------


@pytest.fixture
def email_case():
    return AcknowledgedComplaintFactory(name="Ada <b>Lovelace</b>", description="SECRET DESCRIPTION")


def test_information_request_email_carries_the_question_link_and_pause(email_case, worker):
    request = InformationRequest(complaint=email_case, requested_by=worker, message='Which <site> & "when"?')
    rendered = render_email(
        "information_request", {"complaint": email_case, "request": request, "tracking_url": "https://x/track/t/"}
    )
    ref = email_case.reference
    assert ref in rendered.subject
    assert ref in rendered.text
    assert ref in rendered.html
    assert 'Which <site> & "when"?' in rendered.text  # plain text: as written
    assert "Which &lt;site&gt; &amp; &quot;when&quot;?" in rendered.html  # HTML: escaped
    assert "<site>" not in rendered.html
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in rendered.html
    for body in (rendered.text, rendered.html):
        assert "https://x/track/t/" in body
        assert "investigation is paused" in body


def test_the_information_request_email_goes_out_through_the_outbox(worker, mailoutbox):
    from notifications.services import message_deliver

    complaint = investigating(worker)
    services.complaint_request_information(actor=worker, complaint=complaint, message="Which site?")
    message = OutboundMessage.objects.get(kind="information_request")
    assert message_deliver(message.pk) == "sent"
    [mail] = mailoutbox
    assert complaint.reference in mail.subject
    assert "Which site?" in mail.body
    assert "/track/" in mail.body


@pytest.mark.parametrize("kind", ["staff_assignment", "staff_client_reply"])
def test_staff_emails_name_the_case_and_link_to_it_but_never_quote_the_client(email_case, kind):
    rendered = render_email(
        kind,
        {
            "complaint": email_case,
            "case_url": "https://x/staff/complaints/REF/",
            "recipient_name": "Max Manager",
            "assigned_by": "Lena Lead",
        },
    )
    ref = email_case.reference
    assert ref in rendered.subject
    assert ref in rendered.text
    assert ref in rendered.html
    for body in (rendered.text, rendered.html):
        assert "https://x/staff/complaints/REF/" in body
        assert "Max Manager" in body
        assert "Lovelace" not in body
        assert "SECRET DESCRIPTION" not in body


def test_the_assignment_email_says_who_assigned_it(email_case):
    rendered = render_email(
        "staff_assignment",
        {"complaint": email_case, "case_url": "https://x/", "recipient_name": "Max", "assigned_by": "Lena Lead"},
    )
    assert "Lena Lead has assigned complaint" in rendered.text


def test_staff_emails_are_sent_with_a_link_to_the_case_page(as_lead, worker, mailoutbox, settings):
    from notifications.services import message_deliver

    complaint = AcknowledgedComplaintFactory()
    as_lead.post(action_url("case_assign", complaint), form_data("assign", complaint, assignee=worker.pk))
    message = OutboundMessage.objects.get(kind="staff_assignment")
    assert message_deliver(message.pk) == "sent"
    [mail] = mailoutbox
    assert mail.subject == f"Complaint {complaint.reference} has been assigned to you"
    assert settings.SITE_URL + case_url(complaint) in mail.body
    assert complaint.name not in mail.body


# --- In a browser, at desktop and phone widths ------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_case_page_in_a_browser(live_server, monkeypatch, device, viewport):
    import os
    from pathlib import Path

    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from tests.services import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shots = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    boss = lead(first_name="Lena", last_name="Lead")
    worker = manager(first_name="Max", last_name="Manager")
    CategoryFactory(name="Service quality")
    complaint = AcknowledgedComplaintFactory(
        assignee=worker,
        name="Ada Lovelace",
        organisation="Analytical Engines Ltd",
        postal_address="1 High Street\nMarlow\nSL7 1AA",
        description="The engineer did not turn up for the agreed visit, twice. Our VPN was down for two days.",
    )
    AttachmentFactory(complaint=complaint, original_name="engineer-report.pdf")
    AttachmentFactory(complaint=complaint, original_name="scan-of-the-invoice-with-a-very-long-name-2026-11-02.pdf")
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    services.complaint_add_note(actor=worker, complaint=complaint, text="Called the client.\nWill check the rota.")
    services.complaint_request_information(
        actor=worker, complaint=complaint, message="Which site was affected, and when did the VPN go down?"
    )
    services.complaint_client_reply(complaint=complaint, text="The Wycombe office, from 9:15 on Monday.")

    signed_in = Client()
    signed_in.force_login(boss)
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=args)
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale="en-GB", timezone_id="Europe/London"
        )
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        page = context.new_page()
        assert page.goto(live_server.url + case_url(complaint)).status == 200
        assert page.get_by_role("heading", name=complaint.reference).is_visible()
        assert page.locator(".case-timeline li").count() == 4  # started, note, question, answer
        assert page.locator(".case-timeline .client-visible-badge").count() == 3
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        page.screenshot(path=shots / f"staff-case-{device}.png", full_page=True)

        page.fill("#id_note-text", "Rota checked: the visit was booked for the wrong day.")
        with page.expect_navigation():
            page.get_by_role("button", name="Add note").click()
        assert "Note added." in page.locator("main").inner_text()
        assert "Rota checked" in page.locator("#notes").inner_text()

        # The question to the client, previewed before it is sent.
        page.fill("#id_request-message", "Could you send us the invoice number, please?")
        with page.expect_navigation():
            page.get_by_role("button", name="Preview the email").click()
        preview = page.locator(".email-preview")
        assert "Could you send us the invoice number, please?" in preview.inner_text()
        assert page.input_value("#id_request-message") == "Could you send us the invoice number, please?"
        preview.scroll_into_view_if_needed()
        page.screenshot(path=shots / f"staff-case-preview-{device}.png")
        browser.close()
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING  # a preview sends nothing


# --- The menus -------------------------------------------------------------------------------------


def test_the_assign_and_category_menus_escape_names_and_leave_out_retired_categories(as_lead, worker):
    complaint = investigating(worker)
    CategoryFactory(name='Fees <"extra"> & more')
    CategoryFactory(name="Retired", active=False)
    manager(first_name="Zoë", last_name="O'Neil & Co")

    page = as_lead.get(case_url(complaint)).content.decode()

    # Escaped (no raw "<" inside an option's text), whichever character references spell it.
    options = [html.unescape(text) for text in re.findall(r"<option[^>]*>([^<]*)</option>", page)]
    assert "Zoë O'Neil & Co" in options
    assert 'Fees <"extra"> & more' in options
    assert "Retired" not in page
