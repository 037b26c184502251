"""``manage.py receive_email --mailbox complaints < message.eml``: a message piped by the mail server.

For a mail server that delivers to a program (Postfix's ``pipe``, an alias ``"|..."``). The message is
stored once (``inbound.services.email_store``), arriving when our server's topmost Received header
says (else now); its reading is queued for the worker. Exit status, as a mail server reads it:
0 stored (or already stored); 75 (EX_TEMPFAIL) the database or the disk is unavailable, so the server
keeps the message and tries again later; 65 (EX_DATAERR) a message that cannot be kept (too large,
refused), which the server returns to its sender. Nothing personal is printed.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from inbound import readers, services
from inbound.models import InboundEmail, Mailbox

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Store one message read from standard input as received by complaints@ or appeals@."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--mailbox", required=True, choices=Mailbox.values)

    def handle(self, *args, mailbox: str, **options) -> None:
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise CommandError("No message on standard input.", returncode=EX_DATAERR)
        if len(raw) > services.MAX_RAW_BYTES:
            raise CommandError(f"The message is too large to keep ({len(raw)} bytes).", returncode=EX_DATAERR)
        try:
            email, created = services.email_store(
                raw=raw, mailbox=mailbox, arrived_at=readers.piped_arrival(raw), source=InboundEmail.Source.PIPE
            )
        except readers.REFUSED as error:
            raise CommandError(
                f"The message could not be stored ({type(error).__name__}).", returncode=EX_DATAERR
            ) from error
        except Exception as error:  # the database or the disk: the mail server keeps it and tries again
            raise CommandError(
                f"The message could not be stored now ({type(error).__name__}); try again later.",
                returncode=EX_TEMPFAIL,
            ) from error
        self.stdout.write(f"{'Stored' if created else 'Already stored'}: inbound email {email.pk} ({mailbox}@).")
