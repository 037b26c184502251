"""Reading an email as the product needs it, whatever it holds: headers in any encoding, bodies in any
charset (declared, wrong or none), HTML only, attachments nested anywhere, delivery reports.

``parse(raw)`` never raises for a message it can split into headers and parts: what it cannot
decode is replaced (U+FFFD), never trusted. It renders nothing: HTML becomes plain text here.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

# The most of a body we keep as text (the raw message keeps everything).
MAX_TEXT = 20_000
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")

# Headers by which a mail system marks what no person wrote (RFC 3834, and what Outlook and lists send).
AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


@dataclass(frozen=True)
class Part:
    """An attachment as it came: its name, its declared type and its bytes (checked later, by content)."""

    name: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    from_address: str
    from_name: str
    subject: str
    to: list[str]
    text: str
    received_at: datetime | None  # our own server's Received header (the topmost), if it has one
    automatic: str  # why no person wrote it ("" if a person did)
    spam: bool
    # A delivery status report (a bounce): what it reports.
    is_report: bool = False
    report_action: str = ""
    report_status: str = ""
    reported_message_ids: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Headers:
    message_id: str


def parse_headers(raw: bytes) -> Headers:
    """Only what storing needs, read from the headers (fast, whatever the body holds)."""
    message = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    return Headers(message_id=_first_id(header(message, "Message-ID")))


def unread(*, from_address: str = "", from_name: str = "", subject: str = "") -> ParsedEmail:
    """A message we could not keep or read, as far as its row knows it: no text, no documents."""
    return ParsedEmail(
        message_id="",
        in_reply_to=[],
        references=[],
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        to=[],
        text="",
        received_at=None,
        automatic="",
        spam=False,
    )


def parse(raw: bytes) -> ParsedEmail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    defects: list[str] = [type(defect).__name__ for defect in message.defects]
    from_name, from_address = _sender(message)
    parsed = ParsedEmail(
        message_id=_first_id(header(message, "Message-ID")),
        in_reply_to=_ids(header(message, "In-Reply-To")),
        references=_ids(header(message, "References")),
        from_address=from_address,
        from_name=from_name,
        subject=" ".join(header(message, "Subject").split())[:300],
        to=[address.lower() for _name, address in getaddresses([header(message, "To"), header(message, "Cc")])],
        text="",
        received_at=_received_at(message),
        automatic=automatic_reason(message),
        spam=_flagged_as_spam(message),
        defects=defects,
    )
    if message.get_content_type() == "multipart/report":
        _read_report(message, parsed)
    parsed.text = _body_text(message)[:MAX_TEXT]
    parsed.parts = list(_attachments(message))
    return parsed


def header(message: Message, name: str) -> str:
    """A header as text, whatever its encoding: RFC 2047 decoded; raw 8-bit read as UTF-8, else Windows-1252."""
    raw = next((str(value) for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    if _EIGHT_BIT.search(raw):  # bytes no charset declared: the parser kept them as escapes
        return _eight_bit(raw).replace("\x00", "")
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the policy cannot parse: decode its encoded words by hand
        value = None
    if value is None:
        return _raw_header(message, name)
    return str(value).replace("\x00", "")


# The parser keeps a header's undeclared 8-bit bytes as lone surrogates (surrogateescape).
_EIGHT_BIT = re.compile("[\udc80-\udcff]")


def _eight_bit(value: str) -> str:
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _raw_header(message: Message, name: str) -> str:
    from email.header import decode_header, make_header

    for key, value in message.raw_items():
        if key.lower() == name.lower():
            try:
                return str(make_header(decode_header(str(value))))
            except Exception:  # noqa: BLE001 - broken encoded words: keep what can be read
                return str(value).encode("utf-8", "replace").decode("utf-8", "replace")
    return ""


def _ids(value: str) -> list[str]:
    return [found.strip() for found in MESSAGE_ID.findall(value)][:100]


def _first_id(value: str) -> str:
    found = _ids(value)
    if found:
        return found[0][:250]
    return value.strip().strip("<>")[:250]


def _sender(message: Message) -> tuple[str, str]:
    value = header(message, "From")
    try:
        addresses = getattr(message["From"], "addresses", ())
    except Exception:  # noqa: BLE001 - an unparseable From: fall back to the plain text
        addresses = ()
    if addresses and isinstance(addresses[0], Address):
        first = addresses[0]
        name = _eight_bit(first.display_name) if _EIGHT_BIT.search(first.display_name) else first.display_name
        return name.strip()[:200], first.addr_spec.strip().lower()[:254]
    name, address = getaddresses([value])[0] if value else ("", "")
    return name.strip()[:200], address.strip().lower()[:254]


def _received_at(message: Message) -> datetime | None:
    """The time in the topmost Received header: when our own mail server took the message."""
    value = header(message, "Received")
    if ";" not in value:
        return None
    try:
        moment = parsedate_to_datetime(value.rsplit(";", 1)[1].strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def automatic_reason(message: Message) -> str:
    """Why this message was sent by a machine (an auto-reply, a list, a bounce), or "" if a person sent it."""
    auto_submitted = header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"marked Auto-Submitted: {auto_submitted[:40]}"
    precedence = header(message, "Precedence").strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"marked Precedence: {precedence}"
    if header(message, "X-Auto-Response-Suppress").strip():
        return "marked X-Auto-Response-Suppress (an automatic reply)"
    if header(message, "List-Id").strip():
        return "sent through a mailing list (List-Id)"
    if "Return-Path" in message and header(message, "Return-Path").strip() in ("", "<>"):
        return "sent with an empty Return-Path (a bounce or other automatic message)"
    if message.get_content_type() == "multipart/report":
        return "a delivery report"
    return ""


def _flagged_as_spam(message: Message) -> bool:
    flag = header(message, "X-Spam-Flag").strip().lower()
    status = header(message, "X-Spam-Status").strip().lower()
    return flag == "yes" or status.startswith("yes")


def _read_report(message: Message, parsed: ParsedEmail) -> None:
    """A delivery status report (RFC 3464): its action, status and the Message-ID of what it reports on."""
    parsed.is_report = "delivery-status" in header(message, "Content-Type").lower()
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            # Its blocks of fields are parsed as headers of sub-messages.
            blocks = _payload_parts(part)
            fields = "\n".join(f"{key}: {value}" for block in blocks for key, value in block.items())
            fields = fields or _part_text(part)
            parsed.report_action = _field(fields, "Action").lower()[:40]
            parsed.report_status = _field(fields, "Status")[:20]
        elif kind in ("message/rfc822", "text/rfc822-headers"):
            original = _payload_parts(part)
            headers_text = "\n".join(_part_text(sub) for sub in original) if original else _part_text(part)
            for sub in original:
                parsed.reported_message_ids += _ids(header(sub, "Message-ID"))
            parsed.reported_message_ids += _ids(_field(headers_text, "Message-ID"))
    parsed.reported_message_ids = list(dict.fromkeys(parsed.reported_message_ids))


def _payload_parts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [sub for sub in payload if isinstance(sub, Message)] if isinstance(payload, list) else []


def _field(text: str, name: str) -> str:
    found = re.search(rf"^{name}\s*:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
    return found.group(1).strip() if found else ""


def _part_text(part: Message) -> str:
    """A text part's words, decoded by its declared charset; by UTF-8, then Windows-1252, when that fails."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding: keep what is there
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset()
    for encoding in (charset, "utf-8", "cp1252"):
        if not encoding:
            continue
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def _body_text(message: Message) -> str:
    """What the sender wrote, as plain text: the text part, else the HTML part turned into text."""
    body: Message | None
    if isinstance(message, EmailMessage):
        try:
            body = message.get_body(preferencelist=("plain", "html"))
        except Exception:  # noqa: BLE001 - a structure the policy cannot walk: walk it by hand below
            body = None
    else:
        body = None
    if body is None:
        body = next((p for p in message.walk() if p.get_content_maintype() == "text" and not _is_attachment(p)), None)
    if body is None:
        return ""
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    return _tidy(text)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").lower()
    return "attachment" in disposition or bool(part.get_filename())


def _attachments(message: Message):
    """Every attached file, wherever it sits (inside forwarded messages too), and each forwarded message whole."""
    body_parts = set()
    if isinstance(message, EmailMessage):
        try:
            body = message.get_body(preferencelist=("plain", "html"))
            if body is not None:
                body_parts.add(id(body))
        except Exception:  # noqa: BLE001, S110 - see _body_text: every part is then looked at
            pass
    for part in message.walk():
        if part is message or id(part) in body_parts:
            continue
        kind = part.get_content_type()
        if kind == "message/rfc822":  # a forwarded message: kept whole (its own attachments are walked too)
            inner = _payload_parts(part)
            if inner:
                yield Part(_clean_name(part.get_filename() or "forwarded-message.eml"), kind, inner[0].as_bytes())
            continue
        if part.is_multipart() or kind in ("message/delivery-status", "text/rfc822-headers"):
            continue
        if not _is_attachment(part) and part.get_content_maintype() == "text":
            continue  # an alternative body, not a file
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - a part whose encoding is broken: kept as empty, refused later
            payload = None
        data = payload if isinstance(payload, bytes) else b""
        yield Part(_clean_name(part.get_filename() or f"attachment.{part.get_content_subtype()}"), kind, data)


def _clean_name(name: str) -> str:
    name = str(name).replace("\x00", "").replace("/", "_").replace("\\", "_").strip() or "attachment"
    return name[:200]


class _TextFromHtml(HTMLParser):
    """HTML to plain text: the words, with line breaks where blocks end; scripts and styles dropped."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr", "pre"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001, S110 - the parser gave up on some garbage: what it read so far stands
        pass
    text = "".join(parser.out)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


QUOTE_HEADERS = re.compile(
    r"^(On .{5,200} wrote:|-{2,} ?Original Message ?-{2,}|From: .+|_{10,})\s*$", re.MULTILINE | re.IGNORECASE
)


def without_quoted_reply(text: str) -> str:
    """The new words of a reply: what comes before the quoted earlier message ("On ... wrote:", "> ...")."""
    cut = QUOTE_HEADERS.search(text)
    new = text[: cut.start()] if cut else text
    lines = new.rstrip().splitlines()
    while lines and lines[-1].lstrip().startswith(">"):
        lines.pop()
    return "\n".join(lines).strip() or text.strip()
