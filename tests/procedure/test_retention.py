"""Retention (issue 7, point 7): cases closed or withdrawn more than RETENTION_YEARS ago are anonymised by
a daily beat task, which removes the personal data and the files and keeps what the reports count; a lead
anonymises one case on request with a recorded reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import serializers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appeals import services as appeal_services
from appeals.models import Appeal
from audit.models import AuditEntry
from cases import links, services
from cases.models import (
    Action,
    Attachment,
    Complaint,
    ComplaintEvent,
    Extension,
    InformationRequest,
    Note,
)
from jpdit_complaints.storage import private_storage
from notifications.models import Letter, OutboundMessage
from procedure import retention
from procedure.tasks import anonymise_expired_cases
from tests.appeals.helpers import deliver, lodged
from tests.factories import (
    AcknowledgedComplaintFactory,
    AttachmentFactory,
    CategoryFactory,
    ComplaintEventFactory,
    business_days_from_today,
    director,
    lead,
    manager,
)

pytestmark = pytest.mark.django_db

Status = Complaint.Status
# What the client told us, and what staff wrote about them: none of it may survive.
SECRETS = ("Persephone", "Quillfeather", "persephone@example.org", "07700 900123", "Quill Holdings", "Hexham")
SIX_YEARS_AND_A_DAY = dt.timedelta(days=6 * 366 + 1)


def later(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def closed_case() -> Complaint:
    """A case with one of everything, through the real services, closed by the Director's final decision."""
    worker, boss = manager(), lead()
    complaint = AcknowledgedComplaintFactory(
        assignee=worker,
        name="Persephone Quillfeather",
        email="persephone@example.org",
        phone="07700 900123",
        organisation="Quill Holdings",
        postal_address="1 Quill Lane, Hexham",
        description="Persephone Quillfeather's router was left open to the internet.",
        desired_outcome="An apology to Persephone.",
        category=CategoryFactory(name="Security incident"),
    )
    AttachmentFactory(complaint=complaint, original_name="persephone-passport.txt")
    ComplaintEventFactory(
        complaint=complaint, kind="attachment_added", summary="Document added: persephone-passport.txt"
    )
    complaint = services.complaint_start_investigation(actor=worker, complaint=complaint)
    services.complaint_add_note(actor=worker, complaint=complaint, text="Persephone rang from 07700 900123.")
    services.complaint_request_information(
        actor=worker, complaint=complaint, message="Persephone, which of your Hexham sites?"
    )
    services.complaint_client_reply(complaint=complaint, text="Hexham, ask for Persephone Quillfeather.")
    complaint.refresh_from_db()
    Extension.objects.create(
        complaint=complaint,
        deadline="outcome",
        old_date=complaint.outcome_due,
        new_date=complaint.outcome_due + dt.timedelta(days=7),
        reason="Persephone is away",
        extended_by=boss,
    )
    complaint = services.complaint_issue_outcome(
        actor=worker,
        complaint=complaint,
        outcome=Complaint.Outcome.PARTIALLY_UPHELD,
        findings="Persephone Quillfeather's router was exposed for two days.",
        reasons="We told Persephone late.",
        actions=[
            services.ActionSpec(
                kind="put_right",
                description="Apologise to Persephone Quillfeather in person.",
                owner=boss,
                due_date=business_days_from_today(10),
            )
        ],
    )
    deliver(kind="outcome_letter")
    appeal = lodged(complaint)
    appeal_services.appeal_decide(
        actor=director(),
        appeal=appeal,
        decision=Appeal.Decision.ORIGINAL_DECISION_UPHELD,
        reasons="Persephone Quillfeather was told in good time.",
        recommendations="Phone Persephone sooner.",
    )
    deliver(kind="appeal_decision_letter")
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    return complaint


def everything_held(complaint: Complaint) -> str:
    """Every row about the case, serialised: what a search of the database would find."""
    rows = [
        *Complaint.objects.filter(pk=complaint.pk),
        *ComplaintEvent.objects.filter(complaint=complaint),
        *Note.objects.filter(complaint=complaint),
        *InformationRequest.objects.filter(complaint=complaint),
        *Action.objects.filter(complaint=complaint),
        *Extension.objects.filter(complaint=complaint),
        *Appeal.objects.filter(complaint=complaint),
        *OutboundMessage.objects.filter(complaint=complaint),
        *Letter.objects.filter(complaint=complaint),
        *Attachment.objects.filter(complaint=complaint),
    ]
    return serializers.serialize("json", rows)


# --- Which cases ---------------------------------------------------------------------------------


def test_only_cases_closed_or_withdrawn_longer_ago_than_the_retention_period_are_due(settings):
    settings.RETENTION_YEARS = 6
    closed = AcknowledgedComplaintFactory(status=Status.CLOSED)
    ComplaintEventFactory(complaint=closed, kind="closed", to_status=Status.CLOSED)
    withdrawn = AcknowledgedComplaintFactory(status=Status.WITHDRAWN)
    open_case = AcknowledgedComplaintFactory(status=Status.INVESTIGATING)
    responded = AcknowledgedComplaintFactory(status=Status.RESPONDED)

    now = timezone.now()
    assert not retention.complaints_due_for_anonymisation(retention.years_before(now, -6) - dt.timedelta(hours=1))
    due = set(retention.complaints_due_for_anonymisation(retention.years_before(now, -6) + dt.timedelta(hours=1)))

    assert due == {closed, withdrawn}
    assert open_case not in due
    assert responded not in due


def test_the_period_runs_from_the_last_closure_not_from_an_earlier_one():
    """A late appeal reopens a closed case; its second closing restarts the clock."""
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
    ComplaintEventFactory(complaint=complaint, kind="closed", to_status=Status.CLOSED, created_at=later(-4000))
    ComplaintEventFactory(complaint=complaint, kind="appeal_decided", to_status=Status.CLOSED, created_at=later(-30))

    assert not retention.complaints_due_for_anonymisation(later(6 * 365 - 60))
    assert list(retention.complaints_due_for_anonymisation(later(7 * 365))) == [complaint]


def test_the_retention_period_is_a_setting(settings):
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
    settings.RETENTION_YEARS = 2
    assert list(retention.complaints_due_for_anonymisation(later(2 * 366))) == [complaint]
    settings.RETENTION_YEARS = 6
    assert not retention.complaints_due_for_anonymisation(later(2 * 366))


def test_the_cutoff_of_29_february_is_28_february():
    leap = dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC)
    assert retention.years_before(leap, 6) == dt.datetime(2022, 2, 28, 12, tzinfo=dt.UTC)


# --- What goes and what stays ----------------------------------------------------------------------


def test_anonymisation_removes_every_personal_detail_and_every_file(django_capture_on_commit_callbacks):
    complaint = closed_case()
    held = everything_held(complaint)
    assert all(secret in held for secret in SECRETS)  # the case really held them
    files = [*Attachment.objects.filter(complaint=complaint).values_list("file", flat=True)]
    files += [*Letter.objects.filter(complaint=complaint).values_list("file", flat=True)]
    assert len(files) == 3  # the document, the outcome letter, the decision letter
    assert all(private_storage().exists(name) for name in files)

    with django_capture_on_commit_callbacks(execute=True):
        assert retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY) == 1

    held = everything_held(complaint)
    for secret in SECRETS:
        assert secret not in held, secret
    assert not Attachment.objects.filter(complaint=complaint).exists()
    assert not Letter.objects.filter(complaint=complaint).exists()
    assert not any(private_storage().exists(name) for name in files)
    complaint.refresh_from_db()
    assert complaint.name == "Anonymised"
    assert (complaint.email, complaint.phone, complaint.organisation, complaint.postal_address) == ("", "", "", "")
    messages = OutboundMessage.objects.filter(complaint=complaint)
    assert messages.exists()
    assert set(messages.values_list("to_email", "subject", "body_text", "body_html")) == {("", "", "", "")}
    assert all(m.context == {} for m in messages)


def test_anonymisation_keeps_what_the_reports_count(django_capture_on_commit_callbacks):
    complaint = closed_case()
    appeal = complaint.appeal
    action = Action.objects.get(complaint=complaint)
    extension = Extension.objects.get(complaint=complaint)
    kept = {
        "complaint": Complaint.objects.filter(pk=complaint.pk).values(
            "reference",
            "status",
            "channel",
            "category",
            "outcome",
            "received_at",
            "acknowledgement_due",
            "acknowledged_at",
            "outcome_due",
            "responded_at",
            "appeal_deadline",
            "assignee",
            "incident_date",
        )[0],
        "appeal": (appeal.status, appeal.decision, appeal.received_at, appeal.acknowledged_at, appeal.decided_at),
        "action": (action.kind, action.due_date, action.done_at, action.owner_id, action.from_appeal),
        "extension": (extension.deadline, extension.old_date, extension.new_date, extension.created_at),
        "events": list(
            ComplaintEvent.objects.filter(complaint=complaint).values_list(
                "kind", "from_status", "to_status", "created_at"
            )
        ),
        "requests": list(
            InformationRequest.objects.filter(complaint=complaint).values_list("requested_at", "answered_at")
        ),
        "messages": list(OutboundMessage.objects.filter(complaint=complaint).values_list("kind", "sent_at")),
    }

    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY)

    appeal.refresh_from_db()
    action.refresh_from_db()
    extension.refresh_from_db()
    assert Complaint.objects.filter(pk=complaint.pk).values(*kept["complaint"])[0] == kept["complaint"]
    assert (appeal.status, appeal.decision, appeal.received_at, appeal.acknowledged_at, appeal.decided_at) == kept[
        "appeal"
    ]
    assert (action.kind, action.due_date, action.done_at, action.owner_id, action.from_appeal) == kept["action"]
    assert (extension.deadline, extension.old_date, extension.new_date, extension.created_at) == kept["extension"]
    events = ComplaintEvent.objects.filter(complaint=complaint).exclude(kind="anonymised")
    assert list(events.values_list("kind", "from_status", "to_status", "created_at")) == kept["events"]
    requests = InformationRequest.objects.filter(complaint=complaint)
    assert list(requests.values_list("requested_at", "answered_at")) == kept["requests"]
    messages = OutboundMessage.objects.filter(complaint=complaint)
    assert list(messages.values_list("kind", "sent_at")) == kept["messages"]
    # What had gone out stays "sent"; what was still waiting will never go (test below).
    assert set(messages.values_list("state", flat=True)) <= {"sent", "failed"}


def test_anonymisation_is_recorded_without_personal_data_and_marks_the_case():
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED, name="Persephone Quillfeather")
    now = timezone.now() + SIX_YEARS_AND_A_DAY

    retention.retention_sweep(now=now)

    complaint.refresh_from_db()
    assert complaint.anonymised_at == now
    event = ComplaintEvent.objects.get(complaint=complaint, kind="anonymised")
    assert event.actor is None
    assert event.actor_label == "System"
    assert not event.client_visible
    assert "6 years" in event.summary
    assert "Persephone" not in event.summary


def test_the_clients_secure_links_stop_working():
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
    token = links.client_token(complaint)

    retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY)

    complaint.refresh_from_db()
    assert complaint.client_link_version == 2
    assert token != links.client_token(complaint)


def test_a_message_still_waiting_is_never_sent_to_the_address_we_removed():
    complaint = AcknowledgedComplaintFactory(status=Status.WITHDRAWN, email="persephone@example.org")
    message = OutboundMessage.objects.create(
        dedupe_key="test:waiting", kind="client_link", complaint=complaint, to_email=complaint.email
    )

    retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.FAILED
    assert message.to_email == ""


def test_open_and_recent_cases_are_untouched():
    AcknowledgedComplaintFactory(status=Status.INVESTIGATING, name="Open Person")
    recent = AcknowledgedComplaintFactory(status=Status.CLOSED, name="Recent Person")
    ComplaintEventFactory(complaint=recent, kind="closed", to_status=Status.CLOSED, created_at=later(6 * 366))

    retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY)

    assert set(Complaint.objects.values_list("name", flat=True)) == {"Open Person", "Recent Person"}
    assert not ComplaintEvent.objects.filter(kind="anonymised").exists()


# --- Set-based and batched --------------------------------------------------------------------------


def _closed_with_files(n: int) -> list[int]:
    ids = []
    for _ in range(n):
        complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
        AttachmentFactory(complaint=complaint)
        ComplaintEventFactory(complaint=complaint, kind="closed", to_status=Status.CLOSED, summary="Closed")
        ids.append(complaint.pk)
    return ids


def test_anonymising_a_batch_takes_the_same_queries_whatever_its_size():
    small, large = _closed_with_files(2), _closed_with_files(12)

    with CaptureQueriesContext(connection) as two:
        retention.complaints_anonymise(small, summary="test")
    with CaptureQueriesContext(connection) as twelve:
        retention.complaints_anonymise(large, summary="test")

    assert len(two) == len(twelve)
    assert Complaint.objects.filter(anonymised_at__isnull=False).count() == 14


def test_the_sweep_works_through_every_batch_and_never_does_a_case_twice():
    _closed_with_files(5)

    assert retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY, batch_size=2) == 5
    assert retention.retention_sweep(now=timezone.now() + SIX_YEARS_AND_A_DAY, batch_size=2) == 0
    assert ComplaintEvent.objects.filter(kind="anonymised").count() == 5


def test_a_beat_task_runs_the_sweep_daily_on_an_interval():
    from jpdit_complaints.settings import base  # the test settings switch beat off

    entry = base.CELERY_BEAT_SCHEDULE["retention-sweep"]
    assert entry["task"] == anonymise_expired_cases.name
    assert entry["schedule"] == 24 * 60 * 60  # a plain interval, not a crontab
    assert base.RETENTION_YEARS == 6  # the default


def test_the_task_anonymises_what_is_due(settings):
    settings.RETENTION_YEARS = 0
    _closed_with_files(2)

    assert anonymise_expired_cases.apply().get() == 2


def test_the_privacy_notice_states_the_retention_period(client, settings):
    settings.RETENTION_YEARS = 7
    body = client.get(reverse("public:privacy")).content.decode()
    assert "for seven years after the case closes" in body
    assert "six years" not in body


# --- On request, by a lead ---------------------------------------------------------------------------


@pytest.fixture
def boss():
    return lead(first_name="Lena", last_name="Lead")


def anonymise_url(complaint) -> str:
    return reverse("staff:case_anonymise", args=[complaint.reference])


def test_a_lead_anonymises_one_case_on_request_with_a_recorded_reason(client, boss, django_capture_on_commit_callbacks):
    complaint = closed_case()
    bystander = AcknowledgedComplaintFactory(status=Status.CLOSED, name="Bystander Person")
    client.force_login(boss)

    confirm = client.get(anonymise_url(complaint))
    assert confirm.status_code == 200
    assert 'name="confirm"' in confirm.content.decode()
    complaint.refresh_from_db()
    assert complaint.anonymised_at is None  # the page only asks

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            anonymise_url(complaint), {"reason": "The client asked by email on 3 May.", "confirm": "on"}
        )

    assert response.status_code == 303
    assert response["Location"] == reverse("staff:case", args=[complaint.reference])
    held = everything_held(complaint)
    assert not any(secret in held for secret in SECRETS)
    event = ComplaintEvent.objects.get(complaint=complaint, kind="anonymised")
    assert event.actor == boss
    assert "The client asked by email on 3 May." in event.summary
    assert AuditEntry.objects.filter(complaint=complaint, action="change", description__icontains="anonymised").exists()
    bystander.refresh_from_db()
    assert bystander.name == "Bystander Person"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"reason": "The client asked."}, "This field is required"),  # no confirmation
        ({"confirm": "on"}, "This field is required"),  # no reason
        ({"reason": "Persephone Quillfeather asked", "confirm": "on"}, "without the client&#x27;s name"),
    ],
)
def test_nothing_is_removed_without_confirmation_and_a_clean_reason(client, boss, data, error):
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED, name="Persephone Quillfeather")
    client.force_login(boss)

    response = client.post(anonymise_url(complaint), data)

    assert response.status_code == 400
    assert error in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.name == "Persephone Quillfeather"
    assert complaint.anonymised_at is None


@pytest.mark.parametrize("make", [manager, director])
def test_only_leads_anonymise(client, make):
    user = make()
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED, assignee=user if make is manager else None)
    client.force_login(user)

    for method in ("get", "post"):
        response = getattr(client, method)(anonymise_url(complaint), {"reason": "Asked.", "confirm": "on"})
        assert response.status_code == 403
    complaint.refresh_from_db()
    assert complaint.anonymised_at is None


def test_the_service_refuses_someone_who_is_not_a_lead():
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
    with pytest.raises(retention.PermissionDenied):
        retention.complaint_anonymise_on_request(actor=manager(), complaint=complaint, reason="Asked.")


def test_an_anonymised_case_says_so_and_offers_nothing_more(client, boss):
    complaint = AcknowledgedComplaintFactory(status=Status.CLOSED)
    retention.complaint_anonymise_on_request(actor=boss, complaint=complaint, reason="Asked by phone.")
    client.force_login(boss)

    page = client.get(anonymise_url(complaint)).content.decode()
    assert "was anonymised on" in page
    assert 'name="confirm"' not in page
    assert (
        anonymise_url(complaint) not in client.get(reverse("staff:case", args=[complaint.reference])).content.decode()
    )
    assert json.loads(json.dumps(retention.subject_access_export(email="")))["complaints"] == []
