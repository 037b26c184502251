"""The audit trail (issue 7, point 6): every staff view, download, export and change of a case is
recorded (who, when, what, from which address) in a log that nobody can edit; leads read a case's log."""

from __future__ import annotations

import logging
import re
from unittest import mock

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import ResolverMatch, reverse

from audit.admin import AuditEntryAdmin
from audit.middleware import audited
from audit.models import AppendOnly, AuditEntry
from cases import links, services
from notifications.models import Letter
from tests.appeals.helpers import lodged
from tests.factories import (
    AcknowledgedComplaintFactory,
    AttachmentFactory,
    UserFactory,
    business_days_from_today,
    director,
    lead,
    manager,
)

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action


def case_url(complaint, name: str = "case", *args) -> str:
    return reverse(f"staff:{name}", args=[complaint.reference, *args])


def letter_on(complaint) -> Letter:
    letter = Letter(complaint=complaint, kind="acknowledgement")
    letter.file.save("letter.pdf", ContentFile(b"%PDF-1.7 test"), save=False)
    letter.save()
    return letter


@pytest.fixture
def boss():
    return lead(first_name="Lena", last_name="Lead")


@pytest.fixture
def as_lead(client, boss):
    client.force_login(boss)
    return client


# --- What is recorded -----------------------------------------------------------------------------


def test_a_staff_view_of_a_case_page_records_who_when_what_which_case_and_from_where(as_lead, boss):
    complaint = AcknowledgedComplaintFactory()

    response = as_lead.get(case_url(complaint) + "?tab=timeline&q=Secret+Name", REMOTE_ADDR="198.51.100.23")

    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert entry.user == boss
    assert entry.username == boss.username
    assert entry.action == Action.VIEW
    assert entry.description == "Viewed the case page"
    assert entry.complaint == complaint
    assert entry.reference == complaint.reference
    assert entry.ip_address == "198.51.100.23"
    assert entry.method == "GET"
    assert entry.path == case_url(complaint)  # never the query string
    assert entry.url_name == "staff:case"
    assert entry.status_code == 200
    assert entry.at is not None


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no trusted proxy: the connection's address, the header is ignored
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # one proxy: the entry it appended, not the client's own
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
    ],
)
def test_the_address_is_the_one_our_trusted_proxies_saw(as_lead, settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    complaint = AcknowledgedComplaintFactory()

    as_lead.get(case_url(complaint), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert AuditEntry.objects.get().ip_address == expected


def test_downloads_of_documents_and_letters_are_recorded_with_the_object(as_lead):
    complaint = AcknowledgedComplaintFactory()
    document = AttachmentFactory(complaint=complaint)
    letter = letter_on(complaint)

    assert as_lead.get(case_url(complaint, "attachment_download", document.pk)).status_code == 200
    assert as_lead.get(case_url(complaint, "letter_download", letter.pk)).status_code == 200

    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "object_kind", "object_id", "complaint"))
    assert entries == [
        (Action.DOWNLOAD, "attachment", document.pk, complaint.pk),
        (Action.DOWNLOAD, "letter", letter.pk, complaint.pk),
    ]


def test_a_change_posted_to_a_case_is_recorded_as_a_change(as_lead):
    complaint = AcknowledgedComplaintFactory()
    data = {"note-expected_revision": complaint.revision, "note-seen_event": 0, "note-text": "Rang the client."}

    response = as_lead.post(case_url(complaint, "case_note"), data)

    assert response.status_code == 303
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.description, entry.method, entry.status_code) == (
        Action.CHANGE,
        "Added an internal note",
        "POST",
        303,
    )
    assert entry.complaint == complaint


def test_marking_an_action_done_is_recorded_on_its_case(as_lead, boss):

    from cases.models import Action as CaseAction

    complaint = AcknowledgedComplaintFactory()
    action = CaseAction.objects.create(
        complaint=complaint,
        kind=CaseAction.Kind.PUT_RIGHT,
        description="Refund the fee.",
        owner=boss,
        due_date=business_days_from_today(3),
    )

    as_lead.post(reverse("staff:action_done", args=[action.pk]), {})

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.complaint, entry.reference, entry.object_id) == (
        Action.CHANGE,
        complaint,
        complaint.reference,
        action.pk,
    )


def test_a_refused_attempt_on_a_case_is_recorded_with_its_answer(client):
    complaint = AcknowledgedComplaintFactory(assignee=manager())
    stranger = manager()
    client.force_login(stranger)

    assert client.get(case_url(complaint)).status_code == 404

    entry = AuditEntry.objects.get()
    assert (entry.user, entry.complaint, entry.status_code) == (stranger, complaint, 404)


def test_the_directors_appeal_pages_and_downloads_in_the_admin_are_recorded(client):
    appeal = lodged()
    complaint = appeal.complaint
    document = AttachmentFactory(complaint=complaint)
    outcome = Letter.objects.get(complaint=complaint, kind="outcome")
    boss = director()
    client.force_login(boss)

    assert client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk])).status_code == 200
    assert client.get(reverse("admin:appeals_appeal_attachment", args=[appeal.pk, document.pk])).status_code == 200
    assert client.get(reverse("admin:appeals_appeal_letter", args=[appeal.pk, outcome.pk])).status_code == 200

    entries = list(AuditEntry.objects.order_by("pk"))
    assert [(e.action, e.object_kind, e.object_id) for e in entries] == [
        (Action.VIEW, "", None),
        (Action.DOWNLOAD, "attachment", document.pk),
        (Action.DOWNLOAD, "letter", outcome.pk),
    ]
    assert {(e.user_id, e.complaint_id, e.reference) for e in entries} == {(boss.pk, complaint.pk, complaint.reference)}


def test_report_exports_are_recorded_by_url_name_and_report_pages_are_not():
    def match(namespace, name):
        return ResolverMatch(lambda r: None, (), {}, url_name=name, namespaces=[namespace])

    for name in ("cases_csv", "export", "report_pdf"):
        rule = audited(match("reports", name))
        assert rule is not None, name
        assert rule.action == Action.EXPORT
    assert audited(match("reports", "overview")) is None
    assert audited(match("public", "complaint_form")) is None
    assert audited(match("client", "case")) is None


def test_a_new_staff_page_about_a_case_is_recorded_even_without_its_own_words():
    rule = audited(
        ResolverMatch(lambda r: None, (), {"reference": "X"}, url_name="case_new_thing", namespaces=["staff"])
    )
    assert rule is not None
    assert "case_new_thing" in rule.reading


def test_public_client_and_anonymous_requests_and_the_dashboard_write_nothing(client, boss):
    complaint = AcknowledgedComplaintFactory()
    client.get(reverse("public:complaint_form"))
    client.get(reverse("client:case", args=[links.client_token(complaint)]))
    assert client.get(case_url(complaint)).status_code == 302  # anonymous: the sign-in page
    client.force_login(boss)
    client.get(reverse("staff:home"))
    assert not AuditEntry.objects.exists()


def test_the_audit_adds_exactly_one_query_to_the_case_page(as_lead, boss, settings):
    complaint = AcknowledgedComplaintFactory()
    url = case_url(complaint)
    as_lead.get(url)  # warm
    with CaptureQueriesContext(connection) as captured:
        as_lead.get(url)
    # Read now: the next request resets the connection's query log.
    audited_page = [query["sql"] for query in captured.captured_queries]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "audit.middleware.AuditMiddleware"]
    plain = Client()  # a client loads the middleware on its first request
    plain.force_login(boss)
    plain.get(url)
    with CaptureQueriesContext(connection) as captured:
        plain.get(url)
    plain_page = [query["sql"] for query in captured.captured_queries]

    assert len(audited_page) == len(plain_page) + 1
    assert audited_page[-1].startswith('INSERT INTO "audit_auditentry"')
    assert AuditEntry.objects.count() == 2  # the warm-up and the counted request; none without the middleware


def test_a_failed_write_never_breaks_the_response_and_logs_no_personal_data(as_lead, caplog):
    complaint = AcknowledgedComplaintFactory(name="Persephone Quill", email="persephone@example.org")
    caplog.set_level(logging.DEBUG)

    with mock.patch.object(AuditEntry, "save", side_effect=DatabaseError("insert failed for persephone@example.org")):
        response = as_lead.get(case_url(complaint))

    assert response.status_code == 200
    assert "Persephone Quill" in response.content.decode()
    warnings = [r for r in caplog.records if r.name == "audit.middleware"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "DatabaseError" in warnings[0].getMessage()
    for record in caplog.records:
        message = record.getMessage()
        assert "Persephone" not in message
        assert "persephone@example.org" not in message
    assert not AuditEntry.objects.exists()


# --- Nobody can edit it ---------------------------------------------------------------------------


@pytest.fixture
def entry(boss):
    complaint = AcknowledgedComplaintFactory()
    return AuditEntry.objects.create(
        user=boss,
        username=boss.username,
        action=Action.VIEW,
        description="Viewed the case page",
        complaint=complaint,
        reference=complaint.reference,
        method="GET",
        path="/staff/x/",
        status_code=200,
    )


def test_an_entry_cannot_be_changed_or_deleted_through_the_model(entry):
    entry.description = "Nothing to see here"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(description="Rewritten")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    entry.refresh_from_db()
    assert entry.description == "Viewed the case page"


def test_the_admin_shows_the_log_read_only_even_to_a_superuser(client, entry):
    admin_user = UserFactory(is_superuser=True)
    client.force_login(admin_user)
    model_admin = AuditEntryAdmin(AuditEntry, admin_site)
    request = RequestFactory().get("/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)

    page = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200  # readable
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {"description": "x"}).status_code == 403
    )
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk, description="Viewed the case page").exists()


def test_the_admin_list_offers_no_bulk_delete(client, entry):
    client.force_login(UserFactory(is_superuser=True))
    body = client.get(reverse("admin:audit_auditentry_changelist")).content.decode()
    assert "delete_selected" not in body


# --- The leads' page ------------------------------------------------------------------------------


def test_a_lead_reads_a_cases_audit_log_newest_first(as_lead, boss):
    complaint = AcknowledgedComplaintFactory()
    other = AcknowledgedComplaintFactory()
    as_lead.get(case_url(complaint))
    as_lead.get(case_url(other))
    document = AttachmentFactory(complaint=complaint)
    as_lead.get(case_url(complaint, "attachment_download", document.pk))

    body = as_lead.get(case_url(complaint, "case_audit")).content.decode()

    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    assert text.index("Downloaded a document") < text.index("Viewed the case page")
    assert "Lena Lead" in text
    assert "127.0.0.1" in text
    assert other.reference not in body


def test_the_audit_log_is_paginated(as_lead, boss):
    complaint = AcknowledgedComplaintFactory()
    AuditEntry.objects.bulk_create(
        AuditEntry(
            user=boss,
            username=boss.username,
            action=Action.VIEW,
            description=f"Entry {n:03}",
            complaint=complaint,
            reference=complaint.reference,
            method="GET",
            path="/",
        )
        for n in range(60)
    )
    first = as_lead.get(case_url(complaint, "case_audit")).content.decode()
    assert "Page 1 of 2" in first
    second = as_lead.get(case_url(complaint, "case_audit") + "?page=2").content.decode()
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("make", [manager, director])
def test_only_leads_read_the_audit_log(client, make):
    user = make()
    complaint = AcknowledgedComplaintFactory(assignee=user if make is manager else None)
    client.force_login(user)
    assert client.get(case_url(complaint, "case_audit")).status_code == 403


def test_the_case_page_links_the_audit_log_for_leads_only(client, as_lead):
    worker = manager()
    complaint = AcknowledgedComplaintFactory(assignee=worker)
    services.complaint_start_investigation(actor=worker, complaint=complaint)
    link = case_url(complaint, "case_audit")
    assert link in as_lead.get(case_url(complaint)).content.decode()
    client.force_login(worker)
    assert link not in client.get(case_url(complaint)).content.decode()


def test_a_report_export_is_recorded_without_a_case(as_lead, boss):
    response = as_lead.get(reverse("reports:export"), {"period": "year"})
    if response.streaming:
        b"".join(response.streaming_content)
    as_lead.get(reverse("reports:report"))  # a report page is not an export

    entry = AuditEntry.objects.get()
    assert (entry.user, entry.action, entry.complaint, entry.url_name) == (boss, Action.EXPORT, None, "reports:export")
    assert entry.path == reverse("reports:export")


@pytest.mark.postgres
def test_on_postgresql_the_database_refuses_to_change_or_delete_an_entry(entry):
    from django.db import transaction

    for sql in (
        "UPDATE audit_auditentry SET description = 'Rewritten' WHERE id = %s",
        "UPDATE audit_auditentry SET user_id = NULL, username = 'someone' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="audit entries cannot be"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.description == "Viewed the case page"
    assert entry.user_id is not None


@pytest.mark.postgres
def test_removing_a_user_or_a_case_keeps_the_entry_and_its_snapshots(entry, boss):
    username, reference = entry.username, entry.reference
    complaint = entry.complaint
    boss.delete()
    complaint.delete()

    entry.refresh_from_db()
    assert (entry.user_id, entry.complaint_id) == (None, None)
    assert (entry.username, entry.reference) == (username, reference)
