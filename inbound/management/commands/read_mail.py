"""The long-lived mail reader: ``manage.py read_mail`` (docker-compose.yml's ``mailreader``, Procfile.dev's ``mail``).

One thread per configured mailbox (``INBOUND_COMPLAINTS_URL``, ``INBOUND_APPEALS_URL``), each with its
own database connection, running ``inbound.readers.read_forever``. SIGTERM or SIGINT stops it cleanly:
a reader waiting in IDLE is woken, one in the middle of a batch finishes it first.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand

from inbound import readers

logger = logging.getLogger("inbound.read_mail")


class Command(BaseCommand):
    help = "Read the complaints@ and appeals@ mailboxes until stopped (SIGTERM or Ctrl-C)."

    def handle(self, *args, **options) -> None:
        mailbox_readers = readers.readers_from_settings()  # a bad URL stops start-up here, loudly
        stop = threading.Event()

        def stop_reading(signum, frame) -> None:
            stop.set()
            for reader in mailbox_readers:
                reader.interrupt()

        signal.signal(signal.SIGTERM, stop_reading)
        signal.signal(signal.SIGINT, stop_reading)

        threads = [
            threading.Thread(target=readers.read_forever, args=(reader, stop), name=f"read-{reader.mailbox}")
            for reader in mailbox_readers
        ]
        for thread in threads:
            thread.start()
        if threads:
            logger.info("Mail reader ready: %s", ", ".join(str(reader) for reader in mailbox_readers))
        else:
            # Not an exit: a supervisor (compose's restart policy) would only start it again and again.
            logger.warning("Mail reader ready, but no mailbox is configured (INBOUND_COMPLAINTS_URL, ...)")
        while not stop.wait(1):
            pass
        for thread in threads:
            thread.join()
        logger.info("Mail reader stopped")
