"""Email in, exactly once under faults: the mail reader against a real IMAP server, in the whole stack.

Each test runs the product as docker-compose.yml runs it (tests/stack.py: gunicorn, a Celery worker, one
beat and the ``mailreader``, ``DJANGO_ENV=production``) against a private Dovecot (tests/imap.py), a
private Redis, a test SMTP server and PostgreSQL, delivers messages to complaints@ and breaks something:

- the same message fetched twice (delivered twice, to both mailboxes; replies and an auto-reply too);
- the reader SIGKILLed between the database commit and the move to Processed;
- a UIDVALIDITY change forcing a full rescan;
- the IMAP server restarted while the reader waits in IDLE;
- PostgreSQL restarted in the middle of a batch (a private server, restarted for real).

Each time: every message makes exactly one case (or one message on its case, or one kept automatic
message), every client gets exactly one acknowledgement at the SMTP server, and every message ends up in
Processed. The reader's waits and beat's sweeps are shortened through the settings' environment variables.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import pytest

from cases.models import ClientMessage, Complaint
from inbound.models import InboundEmail
from tests.inbound import mail
from tests.stack import PostgresCluster, Stack, wait_until
from tests.test_faults import ACKNOWLEDGEMENT, FAST_OUTBOX

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.imap]

FAST_MAIL = {
    **FAST_OUTBOX,
    "INBOUND_RETRY_BASE_SECONDS": "1",
    "INBOUND_RETRY_CAP_SECONDS": "2",
    "INBOUND_SWEEP_SECONDS": "2",
    "INBOUND_SWEEP_GRACE_SECONDS": "3",
    "INBOUND_BATCH_SIZE": "10",
}
State = InboundEmail.State


def client(n: int) -> str:
    return f"client{n}@example.com"


def complaint(n: int) -> bytes:
    return mail.plain(
        sender=f"Client {n} <{client(n)}>",
        subject=f"Complaint number {n}",
        body=f"Complaint number {n}: the backup failed again.",
        message_id=f"<mail-fault.{n}@example.com>",
    )


def start(stack: Stack, imap_server) -> Stack:
    stack.extra_env.update(FAST_MAIL)
    stack.extra_env["INBOUND_COMPLAINTS_URL"] = imap_server.url("complaints")
    stack.extra_env["INBOUND_APPEALS_URL"] = imap_server.url("appeals")
    return stack.prepare().start("web", "worker", "beat", "mailreader")


def acknowledged(stack: Stack) -> dict[str, list]:
    """The acknowledgements the SMTP server received, by the client's address."""
    by_client: dict[str, list] = {}
    with stack.mail.lock:
        for message in stack.mail.messages:
            if ACKNOWLEDGEMENT in str(message["Subject"]):
                by_client.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    return by_client


def acknowledgements(stack: Stack) -> Counter:
    return Counter({address: len(messages) for address, messages in acknowledged(stack).items()})


def all_read(count: int):
    """Every message stored (``count`` rows) and read by the worker."""
    return InboundEmail.objects.count() == count and not InboundEmail.objects.filter(state=State.STORED).exists()


def assert_exactly_once(stack: Stack, clients: list[int], *, rows: int, timeout: float = 90) -> None:
    """One new complaint per client, acknowledged once each; ``rows`` stored messages, all read."""
    wait_until(lambda: all_read(rows), timeout=timeout, what=f"{rows} messages stored and read", logs=stack.logs())
    expected = {client(n): 1 for n in clients}
    wait_until(
        lambda: set(acknowledgements(stack)) >= set(expected),
        timeout=timeout,
        what="an acknowledgement to each client",
        logs=stack.logs(),
    )
    time.sleep(4)  # several more sweeps of beat (the outbox's, the stored emails'): nothing may come twice
    assert InboundEmail.objects.count() == rows
    assert Counter(Complaint.objects.values_list("email", flat=True)) == expected
    assert InboundEmail.objects.filter(outcome=InboundEmail.Outcome.NEW_COMPLAINT).count() == len(clients)
    assert acknowledgements(stack) == expected
    assert not InboundEmail.objects.filter(quarantined=True).exists()
    assert stack.processes["mailreader"].alive()


def test_the_same_message_fetched_twice_makes_one_of_anything(stack, imap_server):
    start(stack, imap_server)
    clients = list(range(1, 7))

    # Each complaint delivered twice to complaints@ (a mail server's retry), one a third time to appeals@.
    imap_server.append("complaints", *(complaint(n) for n in clients), *(complaint(n) for n in clients))
    assert_exactly_once(stack, clients, rows=6)
    imap_server.append("appeals", complaint(1))
    wait_until(lambda: all_read(7), timeout=30, what="the copy on appeals@", logs=stack.logs())
    assert InboundEmail.objects.get(mailbox="appeals").state == State.DUPLICATE

    # Each client answers our acknowledgement, and the answer too comes twice; plus an auto-reply, twice.
    ours = {address: messages[0]["Message-ID"] for address, messages in acknowledged(stack).items()}
    replies = [
        mail.plain(
            sender=client(n),
            subject="Re: your acknowledgement",
            body=f"Client {n} here: one more detail.",
            message_id=f"<reply.{n}@example.com>",
            in_reply_to=ours[client(n)],
        )
        for n in clients
    ]
    imap_server.append("complaints", *replies, mail.outlook_out_of_office(), *replies, mail.outlook_out_of_office())

    assert_exactly_once(stack, clients, rows=7 + 6 + 1)
    assert Counter(ClientMessage.objects.values_list("complaint__email", flat=True)) == dict.fromkeys(
        map(client, clients), 1
    )
    assert InboundEmail.objects.filter(state=State.AUTOMATIC).count() == 1
    assert imap_server.count("complaints", "INBOX") == 0
    assert imap_server.count("complaints", "Processed") == 2 * (6 + 6 + 1)


def test_a_reader_killed_between_the_commit_and_the_move_stores_nothing_twice(stack, imap_server, tmp_path):
    paused = tmp_path / "paused"
    stack.reader_pauses["JPDIT_TEST_READER_PAUSE"] = str(paused)
    start(stack, imap_server)
    clients = list(range(1, 26))

    imap_server.append("complaints", *(complaint(n) for n in clients))
    wait_until(paused.exists, timeout=60, what="the reader to pause", logs=stack.logs())
    uids = paused.read_text().split()
    assert len(uids) == 10  # its first batch: committed, not moved
    assert InboundEmail.objects.count() == 10
    assert imap_server.count("complaints", "INBOX") == 25

    stack.processes["mailreader"].kill()  # SIGKILL, as a lost machine or the OOM killer would
    stack.reader_pauses.clear()
    stack.restart("mailreader")  # what compose's restart policy does

    assert_exactly_once(stack, clients, rows=25)
    assert imap_server.count("complaints", "INBOX") == 0
    assert imap_server.count("complaints", "Processed") == 25


def test_a_new_uidvalidity_makes_the_reader_read_everything_again_and_store_nothing_twice(stack, imap_server):
    start(stack, imap_server)
    imap_server.append("complaints", *(complaint(n) for n in range(1, 7)))
    assert_exactly_once(stack, list(range(1, 7)), rows=6)

    # The server loses its index while the reader waits: everything left in INBOX gets new UIDs, from 1 again,
    # below the reader's cursor (6). Two messages already read come back (a restore from backup), four are new.
    imap_server.new_uidvalidity("complaints")
    imap_server.append("complaints", complaint(2), complaint(5), *(complaint(n) for n in range(7, 11)))

    assert_exactly_once(stack, list(range(1, 11)), rows=10)
    assert "UIDVALIDITY changed" in stack.processes["mailreader"].log()
    assert imap_server.count("complaints", "INBOX") == 0


def test_the_imap_server_restarted_while_the_reader_waits_in_idle(stack, imap_server):
    start(stack, imap_server)
    imap_server.append("complaints", complaint(1))
    assert_exactly_once(stack, [1], rows=1)
    reader = stack.processes["mailreader"]

    imap_server.restart()
    time.sleep(2)  # the reader sees the connection drop and tries again, with growing waits
    imap_server.append("complaints", *(complaint(n) for n in range(2, 9)))

    assert_exactly_once(stack, list(range(1, 9)), rows=8)
    assert stack.processes["mailreader"] is reader  # the same process all along: it reconnected by itself
    assert reader.log().count("connected") >= 4  # both mailboxes, before and after


def test_a_postgresql_restart_in_the_middle_of_a_batch_loses_nothing_and_doubles_nothing(
    transactional_db, tmp_path, redis_server, mail_server, imap_server
):
    import psycopg

    cluster = PostgresCluster().init().start()
    try:
        stack = Stack(
            folder=tmp_path / "stack",
            database_url=cluster.create_database("jpdit"),
            redis=redis_server,
            mail=mail_server,
            private_root=tmp_path / "private",
        )
        clients = list(range(1, 301))
        imap_server.append("complaints", *(complaint(n) for n in clients))
        hold = tmp_path / "hold"
        stack.reader_pauses["JPDIT_TEST_READER_HOLD"] = str(hold)

        def stored() -> int:
            with psycopg.connect(stack.database_url, autocommit=True) as db:
                return db.execute("SELECT count(*) FROM inbound_inboundemail").fetchone()[0]

        stack.prepare(migrate=True)
        start(stack, imap_server)
        try:
            # The reader holds after the 5th message of its first batch of 10; the worker is reading those five.
            wait_until(hold.exists, timeout=60, what="the reader to be in the middle of a batch", logs=stack.logs())
            cluster.restart()  # every connection cut: the reader's in the middle of a batch, the worker's mid-task
            hold.with_suffix(".go").touch()
            after_restart = stored()

            def counts():
                with psycopg.connect(stack.database_url, autocommit=True) as db:
                    return db.execute(
                        """
                        SELECT (SELECT count(*) FROM inbound_inboundemail),
                               (SELECT count(*) FROM inbound_inboundemail WHERE state = 'stored'),
                               (SELECT count(*) FROM inbound_inboundemail WHERE quarantined),
                               (SELECT count(DISTINCT email) FROM cases_complaint),
                               (SELECT count(*) FROM cases_complaint),
                               (SELECT count(*) FROM notifications_outboundmessage
                                 WHERE kind = 'complaint_acknowledgement')
                        """
                    ).fetchone()

            wait_until(
                lambda: counts()[:2] == (300, 0), timeout=120, what="every message stored and read", logs=stack.logs()
            )
            wait_until(
                lambda: len(acknowledgements(stack)) == 300, timeout=120, what="300 acknowledgements", logs=stack.logs()
            )
            time.sleep(4)
            sys.stdout.write(f"PostgreSQL restarted with {after_restart} of 300 messages stored\n")
            assert after_restart == 5  # the restart did come in the middle of the first batch
            assert counts() == (300, 0, 0, 300, 300, 300)
            assert set(acknowledgements(stack).values()) == {1}
            assert imap_server.count("complaints", "Processed") == 300
            assert "OperationalError" in stack.processes["mailreader"].log()  # it did hit the restart
            assert stack.processes["mailreader"].alive()
        finally:
            stack.stop()
    finally:
        cluster.stop()
