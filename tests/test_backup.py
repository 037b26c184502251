"""Backup and restore (procedure/backup.py; ``manage.py backup`` and ``manage.py restore``) as an operator runs them.

The product runs as production does (tests/stack.py), its private files in a bucket of moto's S3 server.
Clients keep filing complaints with documents while ``manage.py backup`` runs; the backup is restored
onto a new PostgreSQL database and a new bucket, and every case, event, letter and document of the backup
is there, each file byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from cases.models import Attachment, Complaint, ComplaintEvent
from notifications.models import Letter
from tests.factories import AttachmentFactory
from tests.stack import ROOT, database_url_of, wait_until
from tests.test_object_storage import Person, form_fields

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


def manage(stack, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**stack.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def restore_database():
    """A new, empty PostgreSQL database on the test's server (dropped afterwards); its DATABASE_URL."""
    name = f"{connection.settings_dict['NAME']}_restore_{secrets.token_hex(4)}"
    admin_url = database_url_of(connection).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield database_url_of(connection).rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(url: str, model, *columns: str) -> set[tuple]:
    with psycopg.connect(url) as db:
        return set(db.execute(f"SELECT {', '.join(columns)} FROM {model._meta.db_table}").fetchall())  # noqa: S608


def live(model, *columns: str) -> set[tuple]:
    return set(model.objects.values_list(*columns))


def test_a_backup_taken_while_clients_file_restores_every_case_event_letter_and_document_byte_for_byte(
    stack, moto, restore_database, tmp_path
):
    bucket = moto.create_bucket(f"jpdit-{secrets.token_hex(6)}")
    stack.extra_env.update({**moto.storage_env(bucket), "INTAKE_RATE_LIMIT_ENABLED": "false"})
    stack.prepare().start("web")

    # A case with a letter in storage before the backup.
    first = Person(stack.url)
    first.get("/")
    received = first.post("/", form_fields(), files=[("report.txt", b"The first report.\n" * 50)])
    token = re.search(r"/complaint/received/([^/]+)/", received.url).group(1)
    letter = Letter.objects.create(complaint=Complaint.objects.get(), kind="acknowledgement")
    assert first.session.get(stack.url + reverse("client:letter_download", args=[token, letter.pk])).ok

    # Clients file complaints with a document each, before, during and after the backup.
    stop = threading.Event()
    filed: list[str] = []
    errors: list[str] = []

    def file_complaints(n: int) -> None:
        person = Person(stack.url)
        while not stop.is_set():
            document = f"Evidence {n}-{len(filed)}: {secrets.token_hex(32)}\n".encode() * 200
            person.get("/")
            response = person.post("/", form_fields(f"Complaint {n}-{len(filed)}."), files=[("e.txt", document)])
            (filed if "/complaint/received/" in response.url else errors).append(response.url)

    threads = [threading.Thread(target=file_complaints, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(filed) >= 4, timeout=60, what="complaints filed before the backup")
        before = len(filed)
        backup = manage(stack, "backup", str(tmp_path / "backup"))
        during = len(filed) - before
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert backup.returncode == 0, backup.stderr
    assert not errors, errors
    assert during > 0  # clients were filing while the backup ran

    fresh_bucket = moto.create_bucket(f"jpdit-restored-{secrets.token_hex(4)}")
    restored_env = {"DATABASE_URL": restore_database, "AWS_STORAGE_BUCKET_NAME": fresh_bucket}
    restore = manage(stack, "restore", str(tmp_path / "backup"), env=restored_env)
    assert restore.returncode == 0, restore.stderr

    # Every case of the backup, and each of its events, documents and letters, as the live database has them.
    complaints = rows(restore_database, Complaint, "id", "reference", "description")
    assert len(complaints) >= before + 1
    assert complaints <= live(Complaint, "id", "reference", "description")
    restored_ids = {row[0] for row in complaints}
    events = rows(restore_database, ComplaintEvent, "id", "complaint_id", "kind", "summary")
    assert events == {
        row for row in live(ComplaintEvent, "id", "complaint_id", "kind", "summary") if row[0] in {e[0] for e in events}
    }
    assert {e[1] for e in events} == restored_ids  # every case has its events
    attachments = rows(restore_database, Attachment, "complaint_id", "file", "sha256")
    assert {a[0] for a in attachments} == restored_ids  # every case filed here had a document
    assert attachments <= live(Attachment, "complaint_id", "file", "sha256")
    letters = rows(restore_database, Letter, "id", "file")
    assert letters == {(letter.pk, Letter.objects.get(pk=letter.pk).file.name)}

    # Every file byte for byte: the restored bucket holds exactly the files the restored rows name.
    restored_objects = moto.objects(fresh_bucket)
    assert set(restored_objects) == {a[1] for a in attachments} | {name for _, name in letters}
    for _, name, sha256 in attachments:
        assert hashlib.sha256(restored_objects[name]).hexdigest() == sha256
    s3 = moto.client()
    for name, data in restored_objects.items():
        assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == data

    # A second restore onto what is no longer empty is refused, and changes nothing.
    again = manage(stack, "restore", str(tmp_path / "backup"), env=restored_env)
    assert again.returncode != 0
    assert "not empty" in again.stderr
    assert rows(restore_database, Complaint, "id", "reference", "description") == complaints


def test_restore_refuses_a_damaged_backup_before_touching_anything(stack, moto, restore_database, tmp_path):
    bucket = moto.create_bucket(f"jpdit-{secrets.token_hex(6)}")
    stack.extra_env.update(moto.storage_env(bucket))
    stack.prepare()
    person_file = b"A document.\n" * 10
    stack.start("web")
    client = Person(stack.url)
    client.get("/")
    client.post("/", form_fields(), files=[("doc.txt", person_file)])
    assert manage(stack, "backup", str(tmp_path / "backup")).returncode == 0
    (name,) = [p for p in (tmp_path / "backup" / "files").rglob("*") if p.is_file()]
    name.write_bytes(b"changed")
    fresh_bucket = moto.create_bucket(f"jpdit-restored-{secrets.token_hex(4)}")

    result = manage(
        stack,
        "restore",
        str(tmp_path / "backup"),
        env={"DATABASE_URL": restore_database, "AWS_STORAGE_BUCKET_NAME": fresh_bucket},
    )

    assert result.returncode != 0
    assert "does not match its SHA-256" in result.stderr
    with psycopg.connect(restore_database) as db:
        assert db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    assert moto.objects(fresh_bucket) == {}
    assert os.path.exists(tmp_path / "backup" / "manifest.json")


def test_a_backup_of_the_filesystem_store_restores_into_a_new_folder_byte_for_byte(stack, restore_database, tmp_path):
    documents = [AttachmentFactory(file__data=secrets.token_bytes(3000)) for _ in range(3)]
    letter = Letter.objects.create(complaint=documents[0].complaint, kind="acknowledgement")
    letter.file.save("letters/x.pdf", ContentFile(b"%PDF-1.4 a letter"), save=True)
    originals = {row.file.name: Path(row.file.path).read_bytes() for row in [*documents, letter]}
    assert manage(stack, "backup", str(tmp_path / "backup")).returncode == 0
    fresh = tmp_path / "restored-files"

    restore = manage(
        stack,
        "restore",
        str(tmp_path / "backup"),
        env={"DATABASE_URL": restore_database, "PRIVATE_MEDIA_ROOT": str(fresh)},
    )

    assert restore.returncode == 0, restore.stderr
    assert {str(p.relative_to(fresh)): p.read_bytes() for p in fresh.rglob("*") if p.is_file()} == originals
    assert rows(restore_database, Attachment, "id", "file") == live(Attachment, "id", "file")
