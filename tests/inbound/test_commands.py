"""manage.py receive_email (a message piped by the mail server) and manage.py read_mail (the long-lived reader)."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import OperationalError

from cases.business_days import LONDON
from inbound import services
from inbound.models import InboundEmail
from tests.inbound import mail
from tests.stack import wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
# Wednesday 9 December 2026, 10:15 London; the command runs five minutes later.
ARRIVED = dt.datetime(2026, 12, 9, 10, 15, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _five_minutes_later():
    with time_machine.travel(ARRIVED + dt.timedelta(minutes=5), tick=False):
        yield


def receive(raw: bytes, mailbox: str = "complaints") -> str:
    stdin = io.TextIOWrapper(io.BytesIO(raw))
    out = io.StringIO()
    original = sys.stdin
    sys.stdin = stdin
    try:
        call_command("receive_email", "--mailbox", mailbox, stdout=out)
    finally:
        sys.stdin = original
    return out.getvalue()


@pytest.mark.django_db
class TestReceiveEmail:
    def test_a_piped_message_is_stored_once_arriving_when_our_servers_received_header_says(self):
        raw = mail.plain(arrived=ARRIVED)

        said = receive(raw)
        said_again = receive(raw)

        email = InboundEmail.objects.get()
        assert (email.mailbox, email.source, email.state) == ("complaints", "pipe", "stored")
        assert email.arrived_at == ARRIVED  # not the sender's Date header, nor the moment it was piped
        assert said.startswith("Stored: inbound email")
        assert said_again.startswith("Already stored: inbound email")
        assert "ada" not in (said + said_again).lower()  # nothing personal printed

    def test_without_a_received_header_it_arrives_now(self):
        receive(mail.plain(), mailbox="appeals")

        email = InboundEmail.objects.get()
        assert (email.mailbox, email.arrived_at) == ("appeals", ARRIVED + dt.timedelta(minutes=5))

    @pytest.mark.parametrize(
        "received", [ARRIVED + dt.timedelta(hours=2), ARRIVED - dt.timedelta(days=30)], ids=["future", "old"]
    )
    def test_a_received_time_our_server_cannot_have_written_is_not_believed(self, received):
        receive(mail.plain(arrived=received))

        assert InboundEmail.objects.get().arrived_at == ARRIVED + dt.timedelta(minutes=5)

    def test_nothing_on_standard_input_is_refused_with_a_data_error(self):
        with pytest.raises(CommandError, match="No message") as refused:
            receive(b"")

        assert refused.value.returncode == 65
        assert not InboundEmail.objects.exists()

    def test_a_message_too_large_is_refused_for_the_server_to_return_to_its_sender(self, monkeypatch):
        monkeypatch.setattr(services, "MAX_RAW_BYTES", 100)

        with pytest.raises(CommandError, match="too large") as refused:
            receive(mail.plain())

        assert refused.value.returncode == 65
        assert not InboundEmail.objects.exists()

    def test_a_database_that_is_down_asks_the_mail_server_to_try_again_later(self, monkeypatch):
        def down(**kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(services, "email_store", down)

        with pytest.raises(CommandError, match="try again later") as refused:
            receive(mail.plain())

        assert refused.value.returncode == 75  # EX_TEMPFAIL: Postfix keeps the message and retries


# --- read_mail, as its own process -----------------------------------------------------------------------


def read_mail(tmp_path: Path, **env: str) -> subprocess.Popen:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "INBOUND_"))},
        "DJANGO_ENV": "local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "read_mail"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_read_mail_reads_each_mailbox_in_its_thread_and_stops_cleanly_on_sigterm(tmp_path):
    process = read_mail(
        tmp_path,
        INBOUND_COMPLAINTS_URL=f"maildir://{tmp_path / 'complaints'}",
        INBOUND_APPEALS_URL=f"maildir://{tmp_path / 'appeals'}",
    )
    try:
        # The Maildirs are made (new/, cur/, tmp/ and the Processed and Quarantine folders) by the first pass.
        wait_until(
            lambda: (
                (tmp_path / "appeals" / ".Quarantine" / "cur").is_dir()
                and (tmp_path / "complaints" / ".Processed" / "cur").is_dir()
            ),
            timeout=30,
            what="both readers' first pass",
        )
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert time.monotonic() - started < 5
    assert "Mail reader ready: complaints@ (maildir" in output
    assert "appeals@ (maildir" in output
    assert "Mail reader stopped" in output


def test_read_mail_refuses_to_start_with_a_mailbox_it_cannot_read_safely(tmp_path):
    process = read_mail(tmp_path, INBOUND_COMPLAINTS_URL="imap://complaints:secret@mail.example.net/INBOX")
    output, _ = process.communicate(timeout=60)

    assert process.returncode != 0
    assert "imap:// (no TLS) is allowed only on loopback" in output
    assert "secret" not in output
