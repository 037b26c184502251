"""An audit entry is committed before the response leaves, without waiting for the disk (issue 21, point 3).

The entry of a page about a case is written in a transaction of its own with PostgreSQL's asynchronous
commit (audit/services.py ``entries_write``): the response no longer waits for the disk flush, and a web
process killed the moment it has answered has lost nothing.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from tests.factories import AcknowledgedComplaintFactory, lead
from tests.stack import ROOT, database_url_of, free_port, port_open, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_entry_is_committed_on_its_own_without_waiting_for_the_disk_and_a_killed_server_loses_none(tmp_path):
    complaint = AcknowledgedComplaintFactory()
    client = Client()
    client.force_login(lead())  # the session is in the database, where the server below reads it too

    # In this process (no transaction around the request, as in production): the entry's own short
    # transaction, last, after the page's reads.
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("staff:case", args=[complaint.reference])).status_code == 200
    begin, asynchronous, insert, commit = (query["sql"] for query in captured.captured_queries[-4:])
    assert (begin, asynchronous, commit) == ("BEGIN", "SET LOCAL synchronous_commit TO OFF", "COMMIT")
    assert insert.startswith('INSERT INTO "audit_auditentry"')
    with connection.cursor() as cursor:  # local to that transaction: the next commit waits for the disk
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"

    # A real server, killed the moment its answer has arrived.
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jpdit_complaints.settings.test",
        "DATABASE_URL": database_url_of(connection),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "jpdit_complaints.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the master and its worker are killed together
    )
    try:
        wait_until(lambda: port_open(port), timeout=30, what="gunicorn", logs=str(tmp_path / "gunicorn.log"))
        answer = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answer.request("GET", reverse("staff:case", args=[complaint.reference]), headers={"Cookie": cookie})
        response = answer.getresponse()
        body = response.read()
        # The whole answer is here: now the process dies at once, with no chance to finish anything.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()

    assert response.status == 200, (tmp_path / "gunicorn.log").read_text()[-2000:]
    assert complaint.reference.encode() in body
    entries = list(AuditEntry.objects.filter(reference=complaint.reference).order_by("pk"))
    assert len(entries) == 2  # this process's request, then the server's
    from_the_server = entries[-1]
    assert (from_the_server.action, from_the_server.description, from_the_server.status_code) == (
        "view",
        "Viewed the case page",
        200,
    )
