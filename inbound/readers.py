"""Reading the complaints@ and appeals@ mailboxes: each message stored once, then moved out of the way.

One reader per mailbox, made from a URL (``settings.INBOUND_MAILBOXES``, from ``INBOUND_COMPLAINTS_URL``
and ``INBOUND_APPEALS_URL``):

- ``imaps://user:password@host[:port]/FOLDER``: IMAP over TLS, the server's certificate checked
  (production). ``imap://`` (no TLS) is refused unless the server is on this machine's loopback (the
  tests' Dovecot): a password never crosses a network in clear. User and password are percent-encoded
  (``complaints%40jpditservices.com``); the folder defaults to INBOX.
- ``maildir:///absolute/path``: a Maildir (``make run``'s default: ``var/inbound/complaints`` and
  ``var/inbound/appeals``), where a developer drops .eml files into ``new/``.

A pass reads what is new, in this order for each message, which is what makes it exactly once:

1. ``inbound.services.email_store`` keeps it (raw, under its unique key) and commits; the reading of
   it is queued for the Celery worker when that commits (nothing else is done here);
2. only then is it moved to the Processed folder (a message too big to keep, or one storing refuses,
   to Quarantine, and logged: never deleted);
3. then the mailbox's cursor (``MailboxCursor``: UIDVALIDITY and the last UID read) moves on.

A reader killed between 1 and 2 finds the message again on its next pass and stores nothing (the key
is there); a UIDVALIDITY that changed (the server rebuilt its index) means every UID is new: the
folder is read again from the start, and storing again stores nothing. The arrival time given to
``email_store`` is our own server's: IMAP's INTERNALDATE, a Maildir file's delivery (modification)
time, or, for a message piped by the mail server, its topmost Received header; never the sender's
Date header.

``read_forever`` runs one reader until told to stop: a pass, then IDLE until the server reports new
mail (or polling, for a server without IDLE or a Maildir), again and again. Any failure (the server
or the network gone, the database restarting) is logged and retried after a growing wait; it never
ends the process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mailbox as maildir_format
import os
import re
import socket
import ssl
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from django import db
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted

from inbound import parsing, services
from inbound.models import InboundEmail, Mailbox, MailboxCursor

logger = logging.getLogger(__name__)

Source = InboundEmail.Source
# What storing raises about the message itself: it goes to Quarantine. Anything else (the database or the
# disk unavailable) leaves the message where it is, to be read again after a wait.
REFUSED = (ValueError, db.DataError)
# A Maildir is a local folder: listing it costs nothing, so a file dropped in is seen within seconds.
MAILDIR_POLL_SECONDS = 2.0
# A loopback server may be reached without TLS (the tests' Dovecot); nothing else may.
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Reader(Protocol):
    mailbox: str

    def read_new(self, stop: threading.Event) -> int: ...

    def wait_for_mail(self, stop: threading.Event) -> None: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


# --- From the settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImapLocation:
    host: str
    port: int
    user: str
    password: str
    folder: str
    tls: bool

    @property
    def name(self) -> str:
        """The mailbox without its password: the cursor's name, and what the logs show."""
        return f"{'imaps' if self.tls else 'imap'}://{self.user}@{self.host}:{self.port}/{self.folder}"


def reader_for(mailbox: str, url: str) -> Reader:
    """The reader of ``mailbox`` at ``url``; ImproperlyConfigured for a URL it cannot use."""
    if mailbox not in Mailbox.values:
        raise ImproperlyConfigured(f"Unknown mailbox {mailbox!r}")
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        if parts.netloc or not parts.path.startswith("/"):
            raise ImproperlyConfigured(f"A Maildir URL for {mailbox}@ must be maildir:///absolute/path")
        return MaildirReader(mailbox, Path(unquote(parts.path)))
    if parts.scheme in ("imaps", "imap"):
        tls = parts.scheme == "imaps"
        host = parts.hostname or ""
        if not host or parts.username is None or parts.password is None:
            raise ImproperlyConfigured(f"An IMAP URL for {mailbox}@ needs user:password@host")
        if not tls and host not in LOOPBACK:
            raise ImproperlyConfigured(f"imap:// (no TLS) is allowed only on loopback: use imaps:// for {mailbox}@")
        location = ImapLocation(
            host=host,
            port=parts.port or (993 if tls else 143),
            user=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
        )
        return ImapReader(mailbox, location)
    raise ImproperlyConfigured(f"The URL for {mailbox}@ must start with imaps://, imap:// or maildir:///")


def readers_from_settings() -> list[Reader]:
    """A reader for each mailbox that has a URL (a mailbox without one is not read)."""
    return [reader_for(mailbox, url) for mailbox, url in settings.INBOUND_MAILBOXES.items() if url]


# --- The loop -------------------------------------------------------------------------------------


def read_forever(reader: Reader, stop: threading.Event) -> None:
    """Read, wait for mail, read again... until ``stop`` is set. A failure waits, growing, then tries again."""
    failures = 0
    try:
        while not stop.is_set():
            try:
                db.close_old_connections()
                reader.read_new(stop)
                failures = 0
                reader.wait_for_mail(stop)
            except Exception as error:  # whatever failed, the messages are still in the mailbox
                if stop.is_set():
                    break
                failures += 1
                wait = retry_wait(failures)
                logger.warning("%s: %s; trying again in %.0f s", reader, type(error).__name__, wait)
                # The whole story only when asked for (LOG_LEVEL=DEBUG): a database error may quote a message's values.
                logger.debug("%s: the failure in full", reader, exc_info=True)
                reader.close()
                db.connection.close()  # a connection cut by a database restart is not reused
                stop.wait(wait)
    finally:
        reader.close()
        db.connections.close_all()


def retry_wait(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row: 1, 2, 4 ... times the base, capped."""
    base = settings.INBOUND_RETRY_BASE_SECONDS
    return float(min(base * 2 ** min(failures - 1, 30), settings.INBOUND_RETRY_CAP_SECONDS))


def store(*, mailbox: str, raw: bytes, arrived_at: datetime, source: str) -> bool:
    """Keep one message (once: a second time finds it kept); False if it must go to Quarantine instead.

    A message refused is still listed for a complaints lead (``services.email_refused``), before it moves.
    """
    refused = partial(
        services.email_refused,
        mailbox=mailbox,
        identity=f"sha256:{hashlib.sha256(raw).hexdigest()}",
        arrived_at=arrived_at,
        source=source,
        size=len(raw),
    )
    if len(raw) > services.MAX_RAW_BYTES:
        logger.warning("%s@: a message of %d bytes is too large to keep; quarantined", mailbox, len(raw))
        refused(why=too_large(len(raw)))
        return False
    try:
        services.email_store(raw=raw, mailbox=mailbox, arrived_at=arrived_at, source=source)
    except REFUSED as error:
        logger.warning("%s@: a message could not be stored (%s); quarantined", mailbox, type(error).__name__)
        refused(why=f"A message that could not be stored ({type(error).__name__}).")
        return False
    return True


def too_large(size: int) -> str:
    limit = services.MAX_RAW_BYTES / 1024 / 1024
    return f"A message of {size / 1024 / 1024:.1f} MB, larger than the {limit:.1f} MB kept."


# --- IMAP ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    uid: int
    size: int = 0
    arrived_at: datetime | None = None
    raw: bytes | None = None


class ImapReader:
    """One IMAP folder, read by UID under its UIDVALIDITY (see the module's doc)."""

    source = Source.IMAP

    def __init__(self, mailbox: str, location: ImapLocation):
        self.mailbox = mailbox
        self.location = location
        self._box: BaseMailBox | None = None
        self._idling = False
        self._uidvalidity = 0  # of the folder as last selected

    def __str__(self) -> str:
        return f"{self.mailbox}@ ({self.location.name})"

    # The connection.

    def _connection(self) -> BaseMailBox:
        if self._box is not None:
            return self._box
        location, timeout = self.location, settings.INBOUND_TIMEOUT_SECONDS
        box: BaseMailBox
        if location.tls:
            box = MailBox(location.host, location.port, timeout=timeout, ssl_context=ssl.create_default_context())
        else:
            box = MailBoxUnencrypted(location.host, location.port, timeout=timeout)
        box.login(location.user, location.password, initial_folder=None)
        # imaplib keeps the capabilities announced before login; a server tells more (MOVE) after it.
        _typ, data = box.client.capability()
        box.client.capabilities = tuple(data[-1].decode().upper().split())
        for folder in (settings.INBOUND_PROCESSED_FOLDER, settings.INBOUND_QUARANTINE_FOLDER):
            if not box.folder.exists(folder):
                box.folder.create(folder)
        self._box = box
        logger.info("%s: connected", self)
        return box

    def close(self) -> None:
        box, self._box, self._idling = self._box, None, False
        if box is None:
            return
        try:
            box.logout()
        except Exception:  # noqa: BLE001 - already gone: just let go of the socket
            with contextlib.suppress(Exception):
                box.client.shutdown()

    def interrupt(self) -> None:
        """Wake a reader waiting in IDLE (called by another thread on SIGTERM); a pass is left to finish."""
        box = self._box
        if box is not None and self._idling:
            with contextlib.suppress(OSError):
                box.client.sock.shutdown(socket.SHUT_RDWR)

    # A pass.

    def read_new(self, stop: threading.Event) -> int:
        """Store what is new in the folder, move it out, advance the cursor. Returns how many were stored."""
        box = self._connection()
        self._uidvalidity = self._select(box)
        cursor = self._cursor(self._uidvalidity)
        stored = 0
        while not stop.is_set():
            uids = self._uids_after(box, cursor.last_uid)
            if not uids:
                break
            for chunk in _chunks(uids, settings.INBOUND_BATCH_SIZE):
                if stop.is_set():
                    break
                stored += self._read_batch(box, chunk)
                cursor.last_uid = chunk[-1]
                cursor.save(update_fields=["last_uid", "updated_at"])
        return stored

    def _select(self, box: BaseMailBox) -> int:
        box.folder.set(self.location.folder)
        _name, data = box.client.response("UIDVALIDITY")
        if not data or data[-1] is None:
            raise ImapError("SELECT gave no UIDVALIDITY")
        return int(data[-1])

    def _cursor(self, uidvalidity: int) -> MailboxCursor:
        cursor, _created = MailboxCursor.objects.get_or_create(name=f"{self.mailbox} {self.location.name}"[:200])
        if cursor.uidvalidity != uidvalidity:
            if cursor.uidvalidity:
                logger.warning("%s: UIDVALIDITY changed; reading the whole folder again", self)
            cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
            cursor.save()
        return cursor

    def _uids_after(self, box: BaseMailBox, last_uid: int) -> list[int]:
        _typ, data = box.client.uid("SEARCH", f"UID {last_uid + 1}:*")
        # "n:*" names the highest UID even when it is below n: keep only the new ones.
        return sorted(uid for uid in map(int, (data[0] or b"").split()) if uid > last_uid)

    def _read_batch(self, box: BaseMailBox, uids: list[int]) -> int:
        """Store a batch, then move it: what was stored to Processed, what was refused to Quarantine."""
        described = {item.uid: item for item in self._fetch(box, uids, "UID RFC822.SIZE INTERNALDATE")}
        too_big = [uid for uid, item in described.items() if item.size > services.MAX_RAW_BYTES]
        for uid in too_big:
            item = described[uid]
            logger.warning("%s: UID %d (%d bytes) is too large to keep; quarantined", self, uid, item.size)
            services.email_refused(
                mailbox=self.mailbox,
                identity=f"imap:{self._uidvalidity}:{uid}",
                arrived_at=item.arrived_at or timezone.now(),
                source=self.source,
                size=item.size,
                why=too_large(item.size),
            )
        stored: list[int] = []
        refused: list[int] = list(too_big)
        for group in self._by_size([described[uid] for uid in uids if uid in described and uid not in too_big]):
            for item in self._fetch(box, group, "UID INTERNALDATE BODY.PEEK[]"):
                arrived_at = item.arrived_at or timezone.now()
                if item.raw is not None and store(
                    mailbox=self.mailbox, raw=item.raw, arrived_at=arrived_at, source=self.source
                ):
                    stored.append(item.uid)
                else:
                    refused.append(item.uid)
        self._move(box, stored, settings.INBOUND_PROCESSED_FOLDER)
        self._move(box, refused, settings.INBOUND_QUARANTINE_FOLDER)
        return len(stored)

    def _by_size(self, items: list[Fetched]) -> Iterator[list[int]]:
        """UIDs in groups of at most INBOUND_BATCH_BYTES (one message alone may be larger): memory stays flat."""
        group: list[int] = []
        size = 0
        for item in items:
            if group and size + item.size > settings.INBOUND_BATCH_BYTES:
                yield group
                group, size = [], 0
            group.append(item.uid)
            size += item.size
        if group:
            yield group

    def _fetch(self, box: BaseMailBox, uids: list[int], attributes: str) -> list[Fetched]:
        typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), f"({attributes})")
        if typ != "OK":
            raise ImapError(f"UID FETCH answered {typ}")
        wanted = set(uids)
        return [item for item in _parse_fetch(data) if item.uid in wanted]

    def _move(self, box: BaseMailBox, uids: list[int], folder: str) -> None:
        if uids:
            box.move([str(uid) for uid in uids], folder)

    # Waiting.

    def wait_for_mail(self, stop: threading.Event) -> None:
        """IDLE until the server reports something (or INBOUND_IDLE_SECONDS pass); poll if it cannot IDLE."""
        box = self._connection()
        if "IDLE" not in box.client.capabilities:
            stop.wait(settings.INBOUND_POLL_SECONDS)
            return
        self._idling = True
        try:
            if not stop.is_set():
                box.idle.wait(timeout=settings.INBOUND_IDLE_SECONDS)
        finally:
            self._idling = False


class ImapError(Exception):
    pass


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')


def _parse_fetch(data: Iterable[object]) -> Iterator[Fetched]:
    """imaplib's FETCH answer, one ``Fetched`` per message.

    A message with a literal (its body) comes as ``(attributes before it, literal)`` followed by the
    attributes after it (``b")"`` or ``b" UID 7)"``); one without a literal, as one line.
    """
    attributes: bytes | None = None
    literal: bytes | None = None
    for item in data:
        if isinstance(item, tuple):
            first: tuple[bytes, bytes | None] = (bytes(item[0]), bytes(item[1]))
        elif isinstance(item, bytes) and item[:1].isdigit():  # a message without a literal
            first = (item, None)
        else:
            if isinstance(item, bytes) and attributes is not None:
                attributes += b" " + item  # the attributes after the last literal
            continue
        if attributes is not None:
            yield _fetched(attributes, literal)
        attributes, literal = first
    if attributes is not None:
        yield _fetched(attributes, literal)


def _fetched(attributes: bytes, literal: bytes | None) -> Fetched:
    uid = _UID.search(attributes)
    size = _SIZE.search(attributes)
    date = _INTERNALDATE.search(attributes)
    return Fetched(
        uid=int(uid.group(1)) if uid else 0,  # an unsolicited FETCH (flags changed by another client): no UID
        size=int(size.group(1)) if size else 0,
        arrived_at=internaldate(date.group(1).decode()) if date else None,
        raw=literal,
    )


def internaldate(value: str) -> datetime:
    """IMAP's INTERNALDATE (``" 9-Dec-2026 10:15:00 +0000"``): when the server received the message."""
    return datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z")


# --- Maildir ---------------------------------------------------------------------------------------


class MaildirReader:
    """A Maildir: every file in new/ and cur/ is a message; stored ones go to the Maildir++ folder .Processed."""

    source = Source.MAILDIR

    def __init__(self, mailbox: str, path: Path):
        self.mailbox = mailbox
        self.path = path

    def __str__(self) -> str:
        return f"{self.mailbox}@ (maildir {self.path})"

    def _folder(self, name: str) -> Path:
        # Maildir++ (what Dovecot or Courier would show as the folder ``name``): created by the standard library.
        maildir_format.Maildir(self.path, create=True).add_folder(name)
        return self.path / f".{name}" / "cur"

    def read_new(self, stop: threading.Event) -> int:
        processed = self._folder(settings.INBOUND_PROCESSED_FOLDER)
        quarantine = self._folder(settings.INBOUND_QUARANTINE_FOLDER)
        stored = 0
        for path in self._messages():
            if stop.is_set():
                break
            # The delivery time: a mail server writes the file when it delivers (cp stamps it with now).
            arrived_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            if store(mailbox=self.mailbox, raw=path.read_bytes(), arrived_at=arrived_at, source=self.source):
                _move_file(path, processed)
                stored += 1
            else:
                _move_file(path, quarantine)
        return stored

    def _messages(self) -> list[Path]:
        found = []
        for sub in ("new", "cur"):
            folder = self.path / sub
            if folder.is_dir():
                found += [entry for entry in folder.iterdir() if entry.is_file() and not entry.name.startswith(".")]
        return sorted(found, key=lambda path: (path.stat().st_mtime, path.name))

    def wait_for_mail(self, stop: threading.Event) -> None:
        stop.wait(MAILDIR_POLL_SECONDS)

    def interrupt(self) -> None:
        pass  # its wait is the stop event's own

    def close(self) -> None:
        pass


def _move_file(path: Path, folder: Path) -> None:
    target = folder / path.name
    if target.exists():  # the same file name dropped twice: keep both
        target = folder / f"{uuid.uuid4().hex}-{path.name}"
    os.replace(path, target)


# --- A message piped by the mail server ---------------------------------------------------------------

# A Received time further ahead than this is not our server's taking of the message (a clock gone wrong).
PIPE_CLOCK_SKEW = timedelta(minutes=5)
# ...nor one older than this: a mail server keeps a message it could not pipe for days, not longer.
PIPE_QUEUE_LIFETIME = timedelta(days=5)


def piped_arrival(raw: bytes) -> datetime:
    """When our mail server received a piped message: its topmost Received header (our server wrote it
    just before piping), if that is a plausible time; else now."""
    now = timezone.now()
    try:
        received = parsing.parse(raw).received_at
    except Exception:  # noqa: BLE001 - unreadable headers: it arrives now, and processing quarantines it
        return now
    if received is None or not (now - PIPE_QUEUE_LIFETIME <= received <= now + PIPE_CLOCK_SKEW):
        return now
    return received
