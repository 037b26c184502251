"""A library of real-shaped messages, as clients' and servers' mail systems send them (for tests and benchmarks).

Each function returns the raw bytes a mail server would hand us: headers in their usual order,
MIME structure as Outlook, Gmail and common servers build it, and the quirks that break naive
readers (RFC 2047 headers, Latin-1 or undeclared 8-bit bodies, HTML only, nested messages).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

OUR_SERVER = "mx.jpditservices.com"
COMPLAINTS = "complaints@jpditservices.com"
APPEALS = "appeals@jpditservices.com"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def received(at: datetime) -> str:
    """Our own server's Received header, as Postfix writes it."""
    return f"from mail.example.net (mail.example.net [203.0.113.25]) by {OUR_SERVER} (Postfix); {format_datetime(at)}"


def plain(
    *,
    sender: str = "Ada Lovelace <ada@example.com>",
    to: str = COMPLAINTS,
    subject: str = "The firewall is still broken",
    body: str = "Your engineer did not come on Tuesday, nor on Thursday. The firewall is still down.",
    message_id: str | None = "<CAF1234567890@mail.example.com>",
    in_reply_to: str | None = None,
    references: str | None = None,
    arrived: datetime | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
) -> bytes:
    message = EmailMessage()
    if arrived is not None:
        message["Received"] = received(arrived)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # the sender's clock: never used
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, data, content_type in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def outlook_out_of_office(*, sender: str = "Ada Lovelace <ada@example.com>") -> bytes:
    return plain(
        sender=sender,
        subject="Automatic reply: Your complaint JPD-2026-00042-K",
        body="I am out of the office until Monday 14 December with limited access to email.",
        message_id="<OOF.0001@exchange.example.com>",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )


def gmail_vacation(*, sender: str = "Ada Lovelace <ada@gmail.example>") -> bytes:
    return plain(
        sender=sender,
        subject="Re: Your complaint",
        body="Thanks for your email. I'm on holiday and will reply when I'm back.",
        message_id="<vacation.0002@mail.gmail.example>",
        headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk"},
    )


def mailing_list() -> bytes:
    return plain(
        sender="Security Weekly <news@list.example.org>",
        subject="This week in security",
        body="Ten things to patch this week.",
        message_id="<list.0003@list.example.org>",
        headers={"List-Id": "Security Weekly <weekly.list.example.org>", "Precedence": "list"},
    )


def bounce(*, original_message_id: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix sends it back for one of our emails."""
    report = (
        "Reporting-MTA: dns; mail.example.com\n\n"
        f"Final-Recipient: rfc822; ada@example.com\nAction: {action}\nStatus: {status}\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected\n"
    )
    original = (
        "From: JPD IT Services complaints <complaints@jpditservices.com>\n"
        "To: ada@example.com\nSubject: Your complaint JPD-2026-00042-K\n"
        f"Message-ID: {original_message_id}\n"
    )
    boundary = "==bounce-boundary=="
    return (
        f"Return-Path: <>\nFrom: MAILER-DAEMON@mail.example.com (Mail Delivery System)\nTo: {COMPLAINTS}\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce.0004@mail.example.com>\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host mail.example.com. Your message could not be delivered.\n\n"
        f"--{boundary}\nContent-Type: message/delivery-status\n\n{report}\n"
        f"--{boundary}\nContent-Type: text/rfc822-headers\n\n{original}\n"
        f"--{boundary}--\n"
    ).encode()


def latin1(*, sender: str = "=?iso-8859-1?q?Ren=E9e_M=FCller?= <renee@example.de>") -> bytes:
    """Latin-1 body and RFC 2047 headers, as older clients send them."""
    body = "Grüße: die Rechnung für Dezember ist falsch (€ fehlt). Très mal géré.".encode("latin-1", "replace")
    return (
        (
            f"From: {sender}\nTo: {COMPLAINTS}\nSubject: =?iso-8859-1?q?Rechnung_f=FCr_Dezember?=\n"
            "Message-ID: <latin1.0005@example.de>\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
        ).encode()
        + body
        + b"\n"
    )


def undeclared_8bit() -> bytes:
    """An 8-bit body with no charset at all (Windows-1252 bytes), and a header in raw 8-bit."""
    return (
        b"From: Zo\xe9 Smith <zoe@example.com>\nTo: complaints@jpditservices.com\n"
        b"Subject: Invoice \x93wrong\x94 again\nMessage-ID: <8bit.0006@example.com>\n\n"
        b"The invoice says \x93paid\x94 but it is not \x96 please check.\n"
    )


def html_only() -> bytes:
    message = EmailMessage()
    message["From"] = "Bob Hughes <bob@example.com>"
    message["To"] = COMPLAINTS
    message["Subject"] = "Complaint about the call-out charge"
    message["Message-ID"] = "<html.0007@example.com>"
    message.set_content(
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
        "<p>You charged me <b>twice</b> for one call-out.</p><p>Please refund &pound;95.</p>"
        "<img src='https://tracker.example.com/pixel.gif'></body></html>",
        subtype="html",
    )
    return message.as_bytes()


def forwarded_inside(*, sender: str = "Ada Lovelace <ada@example.com>") -> bytes:
    """A message that forwards another whole (message/rfc822), as Outlook's "forward as attachment"."""
    inner = EmailMessage()
    inner["From"] = "Engineer <eng@jpditservices.com>"
    inner["To"] = "ada@example.com"
    inner["Subject"] = "Visit booked"
    inner["Message-ID"] = "<inner.0008@jpditservices.com>"
    inner.set_content("Your visit is booked for Tuesday 9am.")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = COMPLAINTS
    message["Subject"] = "Fwd: Visit booked (nobody came)"
    message["Message-ID"] = "<fwd.0009@example.com>"
    message.set_content("See the booking below: nobody came.")
    message.add_attachment(inner, filename="Visit booked.eml")
    return message.as_bytes()


def with_oversized_attachment(size: int) -> bytes:
    return plain(
        subject="Logs attached",
        body="The logs are attached.",
        message_id="<big.0010@example.com>",
        attachments=[("huge.pdf", PDF + b" " * size, "application/pdf")],
    )


def with_disguised_executable() -> bytes:
    executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
    return plain(
        subject="Invoice attached",
        body="Please see the invoice.",
        message_id="<exe.0011@example.com>",
        attachments=[("invoice.pdf", executable, "application/pdf"), ("report.pdf", PDF, "application/pdf")],
    )


def no_message_id() -> bytes:
    return plain(message_id=None, subject="No ID here", body="A message whose server added no Message-ID.")


def from_stranger_quoting(reference: str) -> bytes:
    return plain(
        sender="Mallory <mallory@evil.example>",
        subject=f"About {reference}",
        body="Please send me the documents on this case.",
        message_id="<stranger.0012@evil.example>",
    )
