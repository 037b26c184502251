"""The printable acknowledgement letter: its content, and who may download it."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Complaint
from jpdit_complaints.storage import private_storage
from notifications import letters
from notifications.models import Letter
from notifications.rendering import base_context
from tests.factories import AcknowledgedComplaintFactory, UserFactory, director, lead, manager

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def letter_html(complaint, letter_date):
    context = {**base_context(), "complaint": complaint, "letter_date": letter_date}
    return " ".join(render_to_string("letters/acknowledgement.html", context).split())


def letter_text(complaint, letter_date):
    """The letter's words without markup, as a reader sees them (entities read: a name like O'Brien)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", letter_html(complaint, letter_date))).split())


def posted_complaint(actor, received_at=None, **details):
    values = {
        "name": "Ada Lovelace",
        "description": "The engineer missed two appointments.",
        "phone": "01494 000000",
        "preferred_contact": Complaint.ContactMethod.POST,
        "postal_address": "1 High Street\nMarlow\nSL7 1AA",
        **details,
    }
    return services.complaint_log(
        actor=actor,
        channel=Complaint.Channel.LETTER,
        received_at=received_at or timezone.now() - dt.timedelta(hours=2),
        details=services.ComplaintDetails(**values),
    )


def download_url(letter):
    return reverse("staff:letter_download", args=[letter.complaint.reference, letter.pk])


# --- what the letter says -------------------------------------------------------------


def test_letter_gives_reference_receipt_date_channel_and_outcome_date_in_full():
    # The worked example of docs/specification.md: received Thu 24 Dec 2026 → outcome due Tue 12 Jan 2027.
    received = dt.datetime(2026, 12, 24, 10, 0, tzinfo=LONDON)
    complaint = AcknowledgedComplaintFactory.build(
        reference="JPD-2026-00042-K", channel=Complaint.Channel.PHONE, received_at=received
    )
    html = letter_text(complaint, received)
    assert complaint.outcome_due == dt.date(2027, 1, 12)
    assert "Our reference" in html
    assert "JPD-2026-00042-K" in html
    assert "24 December 2026" in html
    assert "by telephone on Thursday 24 December 2026" in html
    assert "by Tuesday 12 January 2027" in html
    assert f"Dear {complaint.name}," in html


def test_letter_carries_company_letterhead_and_contact_details():
    complaint = AcknowledgedComplaintFactory.build(reference="JPD-2026-00042-K")
    html = letter_html(complaint, dt.datetime(2026, 11, 24, 9, 0, tzinfo=LONDON))
    for expected in ("JPD IT Services Ltd", "HP13 5AJ", "01293 226165", "complaints@jpditservices.com"):
        assert expected in html
    assert "size: A4" in html
    assert "Complaints team" in html


def test_letter_escapes_client_text():
    complaint = AcknowledgedComplaintFactory.build(
        reference="JPD-2026-00042-K",
        name="<b>Eve</b>",
        organisation="Evil & <Co>",
        postal_address="<script>x()</script>\nLondon",
    )
    html = letter_html(complaint, dt.datetime(2026, 11, 24, 9, 0, tzinfo=LONDON))
    assert "<b>Eve</b>" not in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "<script>" not in html
    assert "Evil &amp; &lt;Co&gt;" in html
    assert "&lt;script&gt;x()&lt;/script&gt;<br>London" in html


# --- issuing and downloading ----------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 12, 24, 11, 0, tzinfo=LONDON), tick=False)
def test_letter_is_issued_as_a_pdf_and_the_complaint_is_acknowledged(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complaint = posted_complaint(lead(), received_at=dt.datetime(2026, 12, 24, 10, 0, tzinfo=LONDON))
    letter = complaint.letters.get()
    assert letter.kind == "acknowledgement"
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.outcome_due == dt.date(2027, 1, 12)
    with letter.file.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert not complaint.messages.exists()


def test_lead_downloads_the_letter_as_a_safe_pdf_attachment(client):
    user = lead()
    complaint = posted_complaint(user)
    letter = complaint.letters.get()
    client.force_login(user)
    response = client.get(download_url(letter))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'attachment; filename="{complaint.reference}-acknowledgement.pdf"'
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_anonymous_download_is_sent_to_sign_in(client):
    letter = posted_complaint(lead()).letters.get()
    response = client.get(download_url(letter))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))


@pytest.mark.parametrize("role", [manager, director])
def test_staff_without_access_get_404_for_the_letter(client, role):
    letter = posted_complaint(lead()).letters.get()
    type(letter.complaint).objects.filter(pk=letter.complaint_id).update(assignee=manager())
    client.force_login(role())
    assert client.get(download_url(letter)).status_code == 404


def test_assigned_manager_can_download_the_letter_to_post_it(client):
    letter = posted_complaint(lead()).letters.get()
    worker = manager()
    type(letter.complaint).objects.filter(pk=letter.complaint_id).update(assignee=worker)
    client.force_login(worker)
    response = client.get(download_url(letter))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_signed_in_non_staff_cannot_download(client):
    letter = posted_complaint(lead()).letters.get()
    client.force_login(UserFactory(is_staff=False))
    assert client.get(download_url(letter)).status_code == 403


def test_letter_id_under_another_complaints_reference_is_404(client):
    user = lead()
    letter = posted_complaint(user).letters.get()
    other = posted_complaint(user, name="Somebody Else")
    client.force_login(user)
    url = reverse("staff:letter_download", args=[other.reference, letter.pk])
    assert client.get(url).status_code == 404


def test_missing_letter_file_is_404_not_a_crash(client, django_capture_on_commit_callbacks):
    user = lead()
    with django_capture_on_commit_callbacks(execute=True):
        letter = posted_complaint(user).letters.get()
    letter.refresh_from_db()
    letter.file.storage.delete(letter.file.name)
    client.force_login(user)
    assert client.get(download_url(letter)).status_code == 404


def test_download_is_get_only(client):
    user = lead()
    letter = posted_complaint(user).letters.get()
    client.force_login(user)
    assert client.post(download_url(letter)).status_code == 405


# --- a letter's file is written after the commit, never under the case's lock ----------


def stored_letters() -> list[str]:
    storage = private_storage()
    return storage.listdir("letters")[1] if storage.exists("letters") else []


def test_the_pdf_is_stored_only_once_the_transaction_commits(django_capture_on_commit_callbacks):
    before = stored_letters()
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        letter = posted_complaint(lead()).letters.get()
        assert not letter.file  # recorded, with no file yet: nothing written while the case row is locked
        assert stored_letters() == before
    for callback in after_commit:
        callback()
    letter.refresh_from_db()
    with letter.file.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"


def _issue_an_outcome(complaint, worker, *, then_fail: bool) -> None:
    with transaction.atomic():
        services.complaint_issue_outcome(
            actor=worker, complaint=complaint, outcome="not_upheld", findings="We checked.", reasons="It was on time."
        )
        if then_fail:
            raise RuntimeError("something failed after the letter was issued")


@pytest.mark.django_db(transaction=True)
def test_a_transaction_rolled_back_after_the_letter_was_issued_leaves_no_file_behind():
    """Real commits and rollbacks here (no test transaction around them)."""
    worker = manager()
    complaint = AcknowledgedComplaintFactory(status=Complaint.Status.INVESTIGATING, assignee=worker)
    before = stored_letters()

    with pytest.raises(RuntimeError, match="after the letter"):
        _issue_an_outcome(complaint, worker, then_fail=True)

    assert not Letter.objects.exists()
    assert stored_letters() == before
    _issue_an_outcome(complaint, worker, then_fail=False)  # the same, committed: its PDF is stored
    assert len(stored_letters()) == len(before) + 1


def test_a_letter_not_stored_after_its_commit_is_made_when_it_is_first_downloaded(client):
    # As if storage was down when the transaction committed: the row waits without its file.
    user = lead()
    letter = posted_complaint(user).letters.get()
    assert not letter.file
    client.force_login(user)

    response = client.get(download_url(letter))

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    letter.refresh_from_db()
    assert letter.file


def test_two_processes_making_the_same_letter_keep_one_file():
    letter = posted_complaint(lead()).letters.get()
    other = Letter.objects.get(pk=letter.pk)
    letters.letter_write(letter)
    letters.letter_write(other)  # found the first one's file: its own is deleted

    assert other.file.name == letter.file.name
    assert [name for name in stored_letters() if str(letter.complaint.public_id) in name] == [
        letter.file.name.rpartition("/")[2]
    ]
