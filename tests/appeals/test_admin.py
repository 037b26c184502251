"""The Director's workspace in the admin: the appeals list, the case file, the preview and the final decision."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse

from appeals.models import Appeal
from cases import business_days
from cases.models import Action, Attachment, Complaint
from notifications.models import Letter, OutboundMessage
from tests.appeals.helpers import APPEAL_REASONS, FINDINGS, in_days, lodged, responded
from tests.factories import AttachmentFactory, director, lead, manager

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:appeals_appeal_changelist"
ISSUE_BUTTON = 'value="Issue the final decision"'


def page(appeal) -> str:
    return reverse("admin:appeals_appeal_change", args=[appeal.pk])


def decision_post(appeal, *, confirm=True, actions=(), **extra) -> dict:
    """A complete decision: with actions, the original outcome (not upheld) changed to partially upheld;
    without, the original decision upheld."""
    data = {
        "decision": "original_decision_changed" if actions else "original_decision_upheld",
        "new_outcome": "partially_upheld" if actions else "",
        "reasons": "Nobody told the client of the change of plan; that was our failing.",
        "recommendations": "Tell clients when an engineer is diverted.",
        "expected_revision": str(appeal.revision),
        "actions-TOTAL_FORMS": str(max(3, len(actions))),
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "20",
    }
    for index in range(max(3, len(actions))):
        row = actions[index] if index < len(actions) else {}
        for name in ("kind", "description", "owner", "due_date"):
            data[f"actions-{index}-{name}"] = str(row.get(name, "") or "")
    if confirm:
        data["confirm"] = "on"
    data.update(extra)
    return data


def text(response) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


def test_only_directors_see_appeals_in_the_admin(client):
    appeal = lodged()
    for user in (manager(), lead()):
        client.force_login(user)
        assert client.get(reverse(CHANGELIST)).status_code == 403
        assert client.get(page(appeal)).status_code in (403, 404)
        assert "Appeals" not in text(client.get(reverse("admin:index")))
    client.force_login(director())
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert "Appeals" in text(client.get(reverse("admin:index")))


def test_the_list_shows_reference_complainant_received_due_date_overdue_marker_and_state(client):
    late = lodged()
    Appeal.objects.filter(pk=late.pk).update(decision_due=in_days(-10))
    on_time = lodged()
    client.force_login(director())

    response = client.get(reverse(CHANGELIST))

    body = text(response)
    assert late.reference in body
    assert on_time.reference in body
    assert late.complaint.name in body
    assert "OVERDUE BY" in body
    assert "Acknowledged" in body
    # What falls due first comes first.
    assert body.index(late.reference) < body.index(on_time.reference)


def test_the_overdue_filter_lists_only_overdue_appeals(client):
    late = lodged()
    Appeal.objects.filter(pk=late.pk).update(decision_due=in_days(-10))
    on_time = lodged()
    client.force_login(director())

    body = text(client.get(reverse(CHANGELIST), {"deadline": "overdue"}))

    assert late.reference in body
    assert on_time.reference not in body


def test_the_due_this_week_filter(client):
    soon = lodged()
    later = lodged()
    today = business_days.london_today()
    Appeal.objects.filter(pk=soon.pk).update(decision_due=today - dt.timedelta(days=today.weekday()) + dt.timedelta(6))
    Appeal.objects.filter(pk=later.pk).update(decision_due=today + dt.timedelta(days=30))
    client.force_login(director())

    body = text(client.get(reverse(CHANGELIST), {"due": "this_week"}))

    assert soon.reference in body
    assert later.reference not in body


def test_search_by_reference_as_read_out_on_the_phone(client):
    wanted = lodged()
    other = lodged()
    client.force_login(director())

    spoken = wanted.reference.lower().replace("-", " ")
    body = text(client.get(reverse(CHANGELIST), {"q": spoken}))

    assert wanted.reference in body
    assert other.reference not in body


def test_the_appeal_page_shows_the_whole_case_file_read_only(client):
    appeal = lodged()
    complaint = appeal.complaint
    AttachmentFactory(complaint=complaint, original_name="call-log.txt")
    AttachmentFactory(complaint=complaint, original_name="appeal-letter.txt", for_appeal=True)
    client.force_login(director())

    response = client.get(page(appeal))

    assert response.status_code == 200
    body = text(response)
    for expected in (
        complaint.description[:40],
        FINDINGS,
        APPEAL_REASONS,
        "call-log.txt",
        "appeal-letter.txt",
        "Download the outcome letter",
        "Appeal to the Director received",
    ):
        assert expected in body
    assert ISSUE_BUTTON in response.content.decode()
    # No save buttons (the words alone could be in the generated description: a sentence may start "Save").
    assert 'value="Save' not in response.content.decode()
    assert 'name="_save"' not in response.content.decode()


def test_the_director_downloads_documents_and_letters_through_the_appeal(client):
    appeal = lodged()
    document = AttachmentFactory(complaint=appeal.complaint, original_name="call-log.txt")
    stranger = AttachmentFactory(original_name="someone-else.txt")
    outcome = Letter.objects.get(complaint=appeal.complaint, kind="outcome")
    client.force_login(director())

    got = client.get(reverse("admin:appeals_appeal_attachment", args=[appeal.pk, document.pk]))
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == b"Call log, 2 Nov 2026\n"
    assert got["Content-Disposition"].startswith("attachment")
    letter = client.get(reverse("admin:appeals_appeal_letter", args=[appeal.pk, outcome.pk]))
    assert b"".join(letter.streaming_content).startswith(b"%PDF-")
    assert client.get(reverse("admin:appeals_appeal_attachment", args=[appeal.pk, stranger.pk])).status_code == 404


def test_a_manager_cannot_download_through_the_admin(client):
    appeal = lodged()
    document = AttachmentFactory(complaint=appeal.complaint)
    client.force_login(manager())

    response = client.get(reverse("admin:appeals_appeal_attachment", args=[appeal.pk, document.pk]))

    assert response.status_code == 404


def test_the_preview_is_the_letter_as_a_pdf_and_issues_nothing(client):
    appeal = lodged()
    client.force_login(director())

    response = client.post(reverse("admin:appeals_appeal_preview", args=[appeal.pk]), decision_post(appeal))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED
    assert not Letter.objects.filter(kind="appeal_decision").exists()


def test_issuing_needs_the_confirmation_and_changes_nothing_without_it(client):
    appeal = lodged()
    client.force_login(director())

    response = client.post(
        reverse("admin:appeals_appeal_decide", args=[appeal.pk]), decision_post(appeal, confirm=False)
    )

    assert response.status_code == 400
    assert "tick this box" in text(response)
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED


def test_issuing_without_reasons_shows_the_error_and_keeps_the_typing(client):
    appeal = lodged()
    client.force_login(director())

    response = client.post(reverse("admin:appeals_appeal_decide", args=[appeal.pk]), decision_post(appeal, reasons=""))

    assert response.status_code == 400
    assert "Give the reasons for the decision" in text(response)
    assert "Tell clients when an engineer is diverted." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED


def test_one_button_issues_the_final_decision_which_closes_everything_and_is_final(client):
    appeal = lodged()
    owner = manager()
    client.force_login(director())
    actions = [
        {"kind": "put_right", "description": "Refund the call-out fee.", "owner": owner.pk, "due_date": in_days(5)}
    ]

    response = client.post(
        reverse("admin:appeals_appeal_decide", args=[appeal.pk]), decision_post(appeal, actions=actions)
    )

    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.DECIDED
    assert appeal.decision == "original_decision_changed"
    assert Complaint.objects.get(pk=appeal.complaint_id).status == Complaint.Status.CLOSED
    assert Action.objects.get(complaint=appeal.complaint, from_appeal=True).owner == owner
    assert Letter.objects.filter(complaint=appeal.complaint, kind="appeal_decision").count() == 1
    assert OutboundMessage.objects.filter(kind="appeal_decision_letter", complaint=appeal.complaint).count() == 1

    after = client.get(page(appeal))
    assert "Final decision: Original decision changed" in text(after)
    assert ISSUE_BUTTON not in after.content.decode()
    again = client.post(
        reverse("admin:appeals_appeal_decide", args=[appeal.pk]),
        decision_post(appeal, decision="original_decision_upheld"),
        follow=True,
    )
    assert "decided (final)" in text(again)
    appeal.refresh_from_db()
    assert appeal.decision == "original_decision_changed"
    assert Letter.objects.filter(complaint=appeal.complaint, kind="appeal_decision").count() == 1


def test_the_investigator_is_refused_with_a_clear_message_and_another_director_can_decide(client):
    worker = manager()
    worker.groups.add(*director().groups.all())
    appeal = lodged(responded(worker))

    client.force_login(worker)
    shown = client.get(page(appeal))
    assert "took part in the investigation" in text(shown)
    assert ISSUE_BUTTON not in shown.content.decode()
    refused = client.post(reverse("admin:appeals_appeal_decide", args=[appeal.pk]), decision_post(appeal), follow=True)
    assert "took part in the investigation" in text(refused)
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.ACKNOWLEDGED

    client.force_login(director())
    client.post(reverse("admin:appeals_appeal_decide", args=[appeal.pk]), decision_post(appeal))
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.DECIDED


def test_start_review_moves_the_appeal_under_review(client):
    appeal = lodged()
    client.force_login(director())

    client.post(reverse("admin:appeals_appeal_review", args=[appeal.pk]), {"expected_revision": appeal.revision})

    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.UNDER_REVIEW
    assert appeal.review_started_at is not None


def test_a_decision_on_a_form_opened_before_someone_else_changed_the_appeal_is_refused_keeping_the_typing(client):
    appeal = lodged()
    stale = decision_post(appeal)
    client.force_login(director())
    client.post(reverse("admin:appeals_appeal_review", args=[appeal.pk]), {"expected_revision": appeal.revision})

    response = client.post(reverse("admin:appeals_appeal_decide", args=[appeal.pk]), stale)

    assert response.status_code == 409
    assert "changed by someone else" in text(response)
    assert "Nobody told the client of the change of plan" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.UNDER_REVIEW


def test_appeals_cannot_be_added_edited_or_deleted_in_the_admin(client):
    appeal = lodged()
    client.force_login(director())

    assert client.get(reverse("admin:appeals_appeal_add")).status_code == 403
    assert client.post(page(appeal), {"reasons": "changed"}).status_code == 403
    assert client.get(reverse("admin:appeals_appeal_delete", args=[appeal.pk])).status_code == 403
    appeal.refresh_from_db()
    assert appeal.reasons == APPEAL_REASONS


def test_a_new_letter_file_is_never_served_for_another_case(client):
    appeal = lodged()
    other = lodged()
    letter = Letter.objects.create(complaint=other.complaint, kind="outcome")
    letter.file.save("x.pdf", ContentFile(b"%PDF-1.4"), save=True)
    client.force_login(director())

    assert client.get(reverse("admin:appeals_appeal_letter", args=[appeal.pk, letter.pk])).status_code == 404
    assert Attachment.objects.count() == 0


@pytest.mark.parametrize(
    "now",
    [
        # A Wednesday: three business days back is the Friday before, four days of the calendar.
        dt.datetime(2026, 12, 9, 11, 0, tzinfo=business_days.LONDON),
        # A Sunday: three business days back is Wednesday, and only Thursday and Friday have passed since.
        dt.datetime(2026, 12, 6, 11, 0, tzinfo=business_days.LONDON),
    ],
    ids=["wednesday", "sunday"],
)
def test_the_list_and_page_use_the_deadline_words_of_every_page(client, now):
    with time_machine.travel(now, tick=False):
        _the_list_and_page_use_the_deadline_words(client, overdue_by=2 if now.weekday() >= 5 else 3)


def _the_list_and_page_use_the_deadline_words(client, *, overdue_by):
    late = lodged()
    Appeal.objects.filter(pk=late.pk).update(
        decision_due=business_days.add_business_days(business_days.london_today(), -3)
    )
    soon = lodged()
    Appeal.objects.filter(pk=soon.pk).update(
        decision_due=business_days.add_business_days(business_days.london_today(), 2)
    )
    client.force_login(director())

    body = text(client.get(reverse(CHANGELIST)))

    assert f"OVERDUE BY {overdue_by} BUSINESS DAYS" in body
    assert "due in 2 business days" in body
    late.refresh_from_db()
    assert f"overdue by {overdue_by} business days" in text(client.get(page(late)))
