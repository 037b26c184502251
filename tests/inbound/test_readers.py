"""Reading the mailboxes (inbound.readers): each message stored once, then moved out of the way.

The IMAP tests (marker ``imap``) run against a real Dovecot started for each test (tests/imap.py); the
Maildir, the URLs and the FETCH parser need no server.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from django.db import OperationalError

from inbound import readers, services
from inbound.models import InboundEmail, MailboxCursor
from tests.inbound import mail
from tests.stack import wait_until

# INTERNALDATE given at APPEND: in the past whatever day the tests run (the server clamps a future one to now).
RECEIVED = dt.datetime(2026, 6, 10, 9, 30, tzinfo=dt.UTC)


def message(n: int, **fields) -> bytes:
    return mail.plain(
        sender=f"Client {n} <client{n}@example.com>",
        subject=f"Complaint number {n}",
        message_id=f"<complaint.{n}@example.com>",
        **fields,
    )


def pass_over(reader) -> int:
    return reader.read_new(threading.Event())


@pytest.fixture
def complaints(imap_server):
    reader = readers.reader_for("complaints", imap_server.url("complaints"))
    yield reader
    reader.close()


# --- IMAP ------------------------------------------------------------------------------------------


@pytest.mark.imap
@pytest.mark.django_db
class TestImap:
    def test_messages_in_the_inbox_are_stored_once_each_with_the_servers_time_and_moved_to_processed(
        self, imap_server, complaints
    ):
        imap_server.append("complaints", message(1), mail.outlook_out_of_office(), received_at=RECEIVED)
        imap_server.append("complaints", mail.bounce(original_message_id="<x@jpditservices.com>"))

        assert pass_over(complaints) == 3

        emails = list(InboundEmail.objects.order_by("pk"))
        assert [(e.mailbox, e.source, e.state) for e in emails] == [("complaints", "imap", "stored")] * 3
        assert [e.message_id for e in emails] == [
            "complaint.1@example.com",
            "OOF.0001@exchange.example.com",
            "bounce.0004@mail.example.com",
        ]
        # INTERNALDATE, not the sender's Date header (1 December 2026): deadlines run from our server's receipt.
        assert emails[0].arrived_at == RECEIVED
        assert emails[1].arrived_at == RECEIVED
        assert emails[0].raw.read() == imap_server.folder("complaints", "Processed")[0]
        assert imap_server.count("complaints", "INBOX") == 0
        assert imap_server.count("complaints", "Processed") == 3
        assert imap_server.count("complaints", "Quarantine") == 0
        cursor = MailboxCursor.objects.get()
        assert (cursor.uidvalidity, cursor.last_uid) == (imap_server.uidvalidity("complaints"), 3)
        assert "imap-test-password" not in cursor.name

    def test_a_second_pass_stores_nothing_and_a_later_message_is_read_next_time(self, imap_server, complaints):
        imap_server.append("complaints", message(1), message(2), received_at=RECEIVED)
        assert pass_over(complaints) == 2

        assert pass_over(complaints) == 0
        imap_server.append("complaints", message(3), received_at=RECEIVED)
        assert pass_over(complaints) == 1

        assert InboundEmail.objects.count() == 3
        assert imap_server.count("complaints", "Processed") == 3
        assert MailboxCursor.objects.get().last_uid == 3

    def test_a_message_stored_but_never_moved_is_found_again_and_stored_only_once(
        self, imap_server, complaints, monkeypatch
    ):
        """The reader dies after the commit, before the move: the next pass finds the messages again."""
        imap_server.append("complaints", message(1), message(2), received_at=RECEIVED)

        def killed(*args):
            raise ConnectionResetError("killed before the move")

        monkeypatch.setattr(readers.ImapReader, "_move", killed)
        with pytest.raises(ConnectionResetError):
            pass_over(complaints)
        assert InboundEmail.objects.count() == 2
        assert imap_server.count("complaints", "INBOX") == 2
        assert MailboxCursor.objects.get().last_uid == 0  # the cursor moves only after the move
        monkeypatch.undo()
        complaints.close()

        again = readers.reader_for("complaints", imap_server.url("complaints"))
        assert pass_over(again) == 2  # read and "stored" again: the same two rows
        again.close()

        assert InboundEmail.objects.count() == 2
        assert imap_server.count("complaints", "INBOX") == 0
        assert imap_server.count("complaints", "Processed") == 2

    def test_a_new_uidvalidity_makes_the_reader_read_the_whole_folder_again_and_store_nothing_twice(
        self, imap_server, complaints, monkeypatch
    ):
        imap_server.append("complaints", message(1), message(2), message(3), received_at=RECEIVED)
        assert pass_over(complaints) == 3
        # Two more arrive, and one read earlier is left in the INBOX (its move lost): then the server rebuilds
        # its index. The two new ones now have UIDs 1 and 2, below the cursor's 3: without the UIDVALIDITY
        # check they would never be read.
        imap_server.append("complaints", message(4), message(5), message(1), received_at=RECEIVED)
        complaints.close()
        old = MailboxCursor.objects.get().uidvalidity
        imap_server.new_uidvalidity("complaints")

        reader = readers.reader_for("complaints", imap_server.url("complaints"))
        stored_again = pass_over(reader)
        reader.close()

        assert stored_again == 3
        assert sorted(InboundEmail.objects.values_list("message_id", flat=True)) == [
            f"complaint.{n}@example.com" for n in (1, 2, 3, 4, 5)
        ]
        cursor = MailboxCursor.objects.get()
        assert cursor.uidvalidity == imap_server.uidvalidity("complaints") != old
        assert imap_server.count("complaints", "INBOX") == 0
        assert imap_server.count("complaints", "Processed") == 6  # message 1 twice in the folder, once stored

    def test_a_message_too_large_or_refused_by_storing_goes_to_quarantine_and_the_others_are_stored(
        self, imap_server, complaints, monkeypatch
    ):
        big = message(2, body="x" * 5000)
        refused = message(3)
        imap_server.append("complaints", message(1), big, refused, message(4), received_at=RECEIVED)
        monkeypatch.setattr(services, "MAX_RAW_BYTES", 4000)
        real_store = services.email_store

        def refusing(*, raw, **kwargs):
            if raw == refused.replace(b"\n", b"\r\n"):
                raise ValueError("a message storing cannot take")
            return real_store(raw=raw, **kwargs)

        monkeypatch.setattr(services, "email_store", refusing)

        assert pass_over(complaints) == 2

        assert sorted(InboundEmail.objects.filter(quarantined=False).values_list("message_id", flat=True)) == [
            "complaint.1@example.com",
            "complaint.4@example.com",
        ]
        # Each refused one is listed for a complaints lead, saying why and where it is.
        listed = InboundEmail.objects.filter(quarantined=True).order_by("size")
        assert [(email.state, email.raw.name, email.arrived_at) for email in listed] == [
            (InboundEmail.State.WAITING, "", RECEIVED),
            (InboundEmail.State.WAITING, "", RECEIVED),
        ]
        assert "could not be stored (ValueError)" in listed[0].reason
        assert "larger than the" in listed[1].reason
        assert all("Quarantine folder" in email.reason for email in listed)
        quarantined = imap_server.folder("complaints", "Quarantine")
        assert [b"complaint.2@" in raw for raw in quarantined] == [True, False]
        assert b"complaint.3@" in quarantined[1]
        assert imap_server.count("complaints", "Processed") == 2
        assert imap_server.count("complaints", "INBOX") == 0

    def test_a_database_failure_leaves_the_message_in_the_inbox_and_never_in_quarantine(
        self, imap_server, complaints, monkeypatch
    ):
        imap_server.append("complaints", message(1), received_at=RECEIVED)

        def down(**kwargs):
            raise OperationalError("the database is restarting")

        monkeypatch.setattr(services, "email_store", down)
        with pytest.raises(OperationalError):
            pass_over(complaints)
        assert imap_server.count("complaints", "INBOX") == 1
        assert imap_server.count("complaints", "Quarantine") == 0
        monkeypatch.undo()

        assert pass_over(complaints) == 1
        assert imap_server.count("complaints", "Processed") == 1

    def test_batches_are_bounded_by_count_and_by_bytes(self, imap_server, complaints, settings, monkeypatch):
        messages = [message(n, body="y" * 400) for n in range(10)]
        settings.INBOUND_BATCH_SIZE = 4
        settings.INBOUND_BATCH_BYTES = 3 * len(messages[0].replace(b"\n", b"\r\n")) + 10  # three of them
        imap_server.append("complaints", *messages, received_at=RECEIVED)
        fetched: list[list[int]] = []
        real_fetch = readers.ImapReader._fetch

        def counting(self, box, uids, attributes):
            if "BODY" in attributes:
                fetched.append(list(uids))
            return real_fetch(self, box, uids, attributes)

        monkeypatch.setattr(readers.ImapReader, "_fetch", counting)

        assert pass_over(complaints) == 10

        assert [uid for group in fetched for uid in group] == list(range(1, 11))
        assert max(len(group) for group in fetched) == 3  # 4 by count, fewer by bytes
        assert InboundEmail.objects.count() == 10


@pytest.mark.imap
@pytest.mark.django_db(transaction=True)
class TestReadingForever:
    """read_forever in a thread of its own, as read_mail runs it."""

    @pytest.fixture
    def running(self, imap_server, settings):
        settings.INBOUND_IDLE_SECONDS = 120  # longer than any wait below: only IDLE's news can wake it in time
        settings.INBOUND_RETRY_BASE_SECONDS = 0.2
        settings.INBOUND_RETRY_CAP_SECONDS = 0.5
        reader = readers.reader_for("complaints", imap_server.url("complaints"))
        stop = threading.Event()
        thread = threading.Thread(target=readers.read_forever, args=(reader, stop), daemon=True)
        thread.start()
        yield reader, stop, thread
        stop.set()
        reader.interrupt()
        thread.join(timeout=10)

    def stored(self, count: int) -> None:
        wait_until(lambda: InboundEmail.objects.count() >= count, timeout=15, what=f"{count} messages stored")
        time.sleep(0.5)
        assert InboundEmail.objects.count() == count

    def test_idle_wakes_the_reader_when_mail_arrives(self, imap_server, running):
        reader, _stop, _thread = running
        wait_until(lambda: reader._idling, timeout=10, what="the reader to IDLE")
        started = time.monotonic()

        imap_server.append("complaints", message(1), received_at=RECEIVED)

        self.stored(1)
        assert time.monotonic() - started < 10  # IDLE, not the 120 s timeout
        assert imap_server.count("complaints", "Processed") == 1

    def test_the_reader_comes_back_by_itself_after_the_server_restarts(self, imap_server, running):
        reader, _stop, thread = running
        wait_until(lambda: reader._idling, timeout=10, what="the reader to IDLE")

        imap_server.stop()
        time.sleep(1.5)  # several failed reconnections, with growing waits
        assert thread.is_alive()
        imap_server.start()
        imap_server.append("complaints", message(1), message(2), received_at=RECEIVED)

        self.stored(2)
        assert thread.is_alive()
        assert imap_server.count("complaints", "INBOX") == 0

    def test_a_stop_wakes_an_idle_reader_at_once(self, running):
        reader, stop, thread = running
        wait_until(lambda: reader._idling, timeout=10, what="the reader to IDLE")

        started = time.monotonic()
        stop.set()
        reader.interrupt()
        thread.join(timeout=5)

        assert not thread.is_alive()
        assert time.monotonic() - started < 2


# --- Maildir -----------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestMaildir:
    @pytest.fixture
    def maildir(self, tmp_path):
        return readers.reader_for("appeals", f"maildir://{tmp_path / 'appeals'}")

    def drop(self, reader, name: str, raw: bytes, at: dt.datetime = RECEIVED) -> None:
        (reader.path / "new").mkdir(parents=True, exist_ok=True)
        path = reader.path / "new" / name
        path.write_bytes(raw)
        os.utime(path, (at.timestamp(), at.timestamp()))

    def test_files_dropped_in_new_are_stored_once_at_their_delivery_time_and_moved_to_processed(self, maildir):
        self.drop(maildir, "one.eml", message(1))
        self.drop(maildir, "two.eml", message(2), at=RECEIVED + dt.timedelta(minutes=3))

        assert pass_over(maildir) == 2
        assert pass_over(maildir) == 0

        emails = list(InboundEmail.objects.order_by("arrived_at"))
        assert [(e.mailbox, e.source) for e in emails] == [("appeals", "maildir")] * 2
        assert [e.arrived_at for e in emails] == [RECEIVED, RECEIVED + dt.timedelta(minutes=3)]
        assert sorted(p.name for p in (maildir.path / ".Processed" / "cur").iterdir()) == ["one.eml", "two.eml"]
        assert list((maildir.path / "new").iterdir()) == []

    def test_the_same_message_dropped_again_is_stored_once_and_both_files_are_kept(self, maildir):
        self.drop(maildir, "one.eml", message(1))
        pass_over(maildir)
        self.drop(maildir, "one.eml", message(1))
        pass_over(maildir)

        assert InboundEmail.objects.count() == 1
        assert len(list((maildir.path / ".Processed" / "cur").iterdir())) == 2

    def test_a_message_too_large_goes_to_quarantine(self, maildir, monkeypatch):
        monkeypatch.setattr(services, "MAX_RAW_BYTES", 1000)
        self.drop(maildir, "big.eml", message(1, body="z" * 2000))
        self.drop(maildir, "small.eml", message(2))

        assert pass_over(maildir) == 1

        assert [p.name for p in (maildir.path / ".Quarantine" / "cur").iterdir()] == ["big.eml"]
        assert InboundEmail.objects.get(quarantined=False).message_id == "complaint.2@example.com"
        refused = InboundEmail.objects.get(quarantined=True)
        assert (refused.state, refused.size, refused.acknowledgement_due is not None) == (
            InboundEmail.State.WAITING,
            len(message(1, body="z" * 2000)),
            True,
        )


# --- From the settings ----------------------------------------------------------------------------------


def test_an_imaps_url_names_a_tls_mailbox_with_its_encoded_credentials():
    reader = readers.reader_for("complaints", "imaps://complaints%40jpditservices.com:p%2Fss@mail.example.net/Inbox")

    assert reader.location == readers.ImapLocation(
        host="mail.example.net",
        port=993,
        user="complaints@jpditservices.com",
        password="p/ss",
        folder="Inbox",
        tls=True,
    )
    assert "p/ss" not in str(reader)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("imap://user:pass@mail.example.net/INBOX", "only on loopback"),
        ("imaps://mail.example.net/INBOX", "user:password@host"),
        ("maildir://relative/path", "absolute"),
        ("pop3://user:pass@mail.example.net", "must start with"),
    ],
)
def test_a_url_the_reader_cannot_use_stops_start_up_with_the_reason(url, problem):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=problem):
        readers.reader_for("complaints", url)


def test_plain_imap_is_allowed_on_loopback_for_the_tests_server():
    reader = readers.reader_for("appeals", "imap://appeals:secret@127.0.0.1:10143")

    assert (reader.location.tls, reader.location.port, reader.location.folder) == (False, 10143, "INBOX")


def test_only_the_mailboxes_with_a_url_are_read(settings, tmp_path):
    settings.INBOUND_MAILBOXES = {"complaints": f"maildir://{tmp_path}", "appeals": ""}

    assert [reader.mailbox for reader in readers.readers_from_settings()] == ["complaints"]


def test_a_fetch_answer_is_read_whatever_the_order_of_its_attributes():
    answer = [
        (b'1 (UID 7 INTERNALDATE " 9-Jun-2026 10:15:00 +0100" BODY[] {5}', b"hello"),
        b")",
        (b"2 (BODY[] {3}", b"bye"),
        b' UID 8 INTERNALDATE "10-Jun-2026 09:30:00 +0000")',
        b"3 (FLAGS (\\Seen))",  # an unsolicited update of another message: no UID
        b"4 (UID 9 RFC822.SIZE 1234)",
    ]

    fetched = list(readers._parse_fetch(answer))

    assert [(f.uid, f.raw, f.size) for f in fetched] == [
        (7, b"hello", 0),
        (8, b"bye", 0),
        (0, None, 0),
        (9, None, 1234),
    ]
    assert fetched[0].arrived_at == dt.datetime(2026, 6, 9, 9, 15, tzinfo=dt.UTC)
    assert fetched[1].arrived_at == RECEIVED


@pytest.mark.parametrize(("failures", "wait"), [(1, 1), (2, 2), (3, 4), (7, 60), (50, 60)])
def test_the_wait_after_failures_grows_and_is_capped(settings, failures, wait):
    settings.INBOUND_RETRY_BASE_SECONDS = 1
    settings.INBOUND_RETRY_CAP_SECONDS = 60

    assert readers.retry_wait(failures) == wait
