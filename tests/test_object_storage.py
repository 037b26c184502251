"""Private files in an S3-compatible bucket, with the product run as production runs it.

The stack of tests/stack.py (gunicorn, a Celery worker and beat, ``DJANGO_ENV=production``) is given
``STORAGE_BACKEND=s3`` and a bucket of moto's standalone server (``tests.stack.MotoServer``, one server
for the module, a bucket per test). What a client uploads is found in the bucket, never on the disk; staff
and clients download it byte for byte through the permission-checked views; when the store is
unreachable the client is told so, nothing is half saved, and what they sent goes through once it is back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import pytest
import requests
from django.urls import reverse

from cases.business_days import london_today
from cases.models import Complaint
from notifications.models import Letter
from tests.factories import lead
from tests.stack import usable_in_production

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

PASSWORD = "a long staff password for the stack"
REPORT = b"%PDF-1.4\n% the engineer's report\n" + secrets.token_bytes(2048) + b"\n%%EOF\n"
NOTES = f"Notes of the phone call, reference {secrets.token_hex(16)}.\n".encode() * 40


@pytest.fixture
def s3_stack(stack, moto):
    """The stack with its private files in a fresh bucket; the store reachable when the test ends."""
    bucket = moto.create_bucket(f"jpdit-{secrets.token_hex(6)}")
    stack.extra_env.update(moto.storage_env(bucket))
    stack.bucket = bucket
    stack.private_root = stack.folder.parent / "private-folder-unused"  # its own: nothing may be written there
    stack.prepare().start("web")
    yield stack
    if moto.front.listener is None:
        moto.start()


def form_fields(description: str | None = "The engineer's report shows the firewall was never updated.") -> dict:
    fields = {
        "name": "Robin Client",
        "email": "robin@example.com",
        "incident_date": (london_today() - timedelta(days=1)).isoformat(),
        "preferred_contact": "email",
        "privacy_ack": "on",
        "website": "",
    }
    if description is not None:
        fields["description"] = description
    return fields


class Person:
    """A browser-less client of the stack: cookies and the CSRF token of the page last read."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.page = ""

    def get(self, path: str) -> requests.Response:
        response = self.session.get(self.url + path, timeout=30)
        self.page = response.text
        return response

    def post(self, path: str, data: dict, files: list[tuple[str, bytes]] = ()) -> requests.Response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page).group(1)
        upload = [("documents", (name, content)) for name, content in files]
        response = self.session.post(
            self.url + path, data={"csrfmiddlewaretoken": token, **data}, files=upload or None, timeout=60
        )
        self.page = response.text
        return response

    def kept(self) -> str:
        """The signed list of documents the form keeps between posts ("" if none)."""
        found = re.search(r'name="kept_documents" value="([^"]*)"', self.page)
        return found.group(1) if found else ""


def main_text(response: requests.Response) -> str:
    """What the page says (for a failure message)."""
    main = re.search(r"<main.*?</main>", response.text, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(0) if main else response.text).split())[:1500]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def staff_person(stack) -> Person:
    user = lead(username="lee")
    usable_in_production(user, PASSWORD)
    person = Person(stack.url)
    person.get(reverse("staff:login"))
    response = person.post(reverse("staff:login"), {"username": "lee", "password": PASSWORD})
    assert response.ok
    assert "/login/" not in response.url, main_text(response)
    return person


def test_a_document_filed_on_the_web_form_is_kept_in_the_bucket_and_staff_download_it_byte_for_byte_when_it_is_up(
    s3_stack, moto
):
    client = Person(s3_stack.url)
    client.get("/")
    response = client.post("/", form_fields(), files=[("engineer-report.pdf", REPORT)])

    assert "/complaint/received/" in response.url, main_text(response)
    complaint = Complaint.objects.get()
    attachment = complaint.attachments.get()
    assert attachment.original_name == "engineer-report.pdf"
    assert moto.objects(s3_stack.bucket) == {attachment.file.name: REPORT}  # nothing staged is left
    assert not any(p.is_file() for p in s3_stack.private_root.rglob("*"))  # nothing on the disk

    staff = staff_person(s3_stack)
    address = s3_stack.url + reverse("staff:attachment_download", args=[complaint.reference, attachment.pk])
    download = staff.session.get(address, timeout=30)
    assert download.status_code == 200
    assert download.content == REPORT
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.url == address  # served by the site itself, never redirected to the store

    moto.stop()
    down = staff.session.get(address, timeout=30)
    moto.start()
    assert down.status_code == 503
    assert "try again" in down.text
    assert staff.session.get(address, timeout=30).content == REPORT


def test_a_letter_pdf_is_stored_in_the_bucket_and_the_client_downloads_it(s3_stack, moto):
    client = Person(s3_stack.url)
    client.get("/")
    received = client.post("/", form_fields())
    token = re.search(r"/complaint/received/([^/]+)/", received.url).group(1)
    complaint = Complaint.objects.get()
    # Issued with no PDF yet (as when storage failed after its commit): the first reader makes and stores it.
    letter = Letter.objects.create(complaint=complaint, kind="acknowledgement", client_visible=True)

    download = client.session.get(s3_stack.url + reverse("client:letter_download", args=[token, letter.pk]))

    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")
    letter.refresh_from_db()
    assert letter.file.name.startswith("letters/")
    assert moto.objects(s3_stack.bucket, "letters/") == {letter.file.name: download.content}
    again = client.session.get(s3_stack.url + reverse("client:letter_download", args=[token, letter.pk]))
    assert again.content == download.content  # the stored PDF, not a second one
    assert list(moto.objects(s3_stack.bucket, "letters/")) == [letter.file.name]


def test_when_the_store_is_down_the_client_is_told_nothing_is_saved_and_their_complaint_goes_through_once_it_is_back(
    s3_stack, moto
):
    client = Person(s3_stack.url)
    client.get("/")
    # A first post with a field missing: the valid document is kept between posts (staged in the bucket).
    first = client.post("/", form_fields(description=None), files=[("engineer-report.pdf", REPORT)])
    assert first.status_code == 200
    assert "engineer-report.pdf" in first.text
    kept = client.kept()
    assert kept
    staged = moto.objects(s3_stack.bucket)
    assert list(staged.values()) == [REPORT]
    assert all(key.startswith("staging/") for key in staged)

    moto.stop()
    description = "Typed while the store was down: the firewall was never updated."
    refused = client.post("/", {**form_fields(description), "kept_documents": kept}, files=[("call-notes.txt", NOTES)])

    assert refused.status_code == 503
    assert refused.headers["Retry-After"]
    assert "Your complaint has not been sent yet" in refused.text
    assert description in refused.text  # what they typed is still in the form
    assert "engineer-report.pdf" in refused.text  # the document kept earlier is still offered
    assert client.kept()  # the page sends the kept document back with the next post
    assert not Complaint.objects.exists()
    moto.start()
    assert moto.objects(s3_stack.bucket) == staged  # no object half saved

    # The client sends the page again, the notes chosen again.
    again = {**form_fields(description), "kept_documents": client.kept()}
    sent = client.post("/", again, files=[("call-notes.txt", NOTES)])

    assert "/complaint/received/" in sent.url, main_text(sent)
    complaint = Complaint.objects.get()
    assert complaint.description == description
    documents = {a.original_name: a for a in complaint.attachments.all()}
    assert {name: a.sha256 for name, a in documents.items()} == {
        "engineer-report.pdf": sha256(REPORT),
        "call-notes.txt": sha256(NOTES),
    }
    objects = moto.objects(s3_stack.bucket)
    assert objects == {documents["engineer-report.pdf"].file.name: REPORT, documents["call-notes.txt"].file.name: NOTES}


def test_the_staging_purge_and_retention_delete_objects_in_the_bucket(s3_stack, moto):
    client = Person(s3_stack.url)
    client.get("/")
    client.post("/", form_fields(), files=[("engineer-report.pdf", REPORT)])
    complaint = Complaint.objects.get()
    s3 = moto.client()
    two_days_ago = int((complaint.received_at - timedelta(days=2)).timestamp())
    now = int(complaint.received_at.timestamp())
    old_key = f"staging/{secrets.token_urlsafe(18)}/{two_days_ago:08x}{secrets.token_hex(12)}"
    fresh_key = f"staging/{secrets.token_urlsafe(18)}/{now:08x}{secrets.token_hex(12)}"
    for key in (old_key, fresh_key):
        s3.put_object(Bucket=s3_stack.bucket, Key=key, Body=NOTES)

    s3_stack.manage("shell", "-c", "from cases.uploads import purge_stale_staging; purge_stale_staging()")
    s3_stack.manage(
        "shell",
        "-c",
        f"from procedure.retention import complaints_anonymise; complaints_anonymise([{complaint.pk}], summary='test')",
    )

    assert list(moto.objects(s3_stack.bucket)) == [fresh_key]
