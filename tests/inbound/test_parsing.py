"""Reading any email never crashes: headers in any encoding, broken bodies, garbage (inbound.parsing)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound import parsing
from tests.inbound import mail

HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "=?utf-8?b?SGVsbG8gV29ybGQ=?=",
            "=?iso-8859-1?q?Ren=E9e?=",
            "=?windows-1252?q?=93quoted=94?=",
            "=?unknown-charset?q?abc?=",
            "=?utf-8?b?broken base64!?=",
            "=?utf-8?q?unterminated",
            "<>",
            "",
        ]
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.dictionaries(
        st.sampled_from(["From", "Subject", "Message-ID", "In-Reply-To", "References", "Content-Type", "Return-Path"]),
        HEADER_VALUES,
        max_size=7,
    ),
    body=st.binary(max_size=400),
    charset=st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "x-no-such-charset", ""]),
)
def test_any_headers_and_body_bytes_are_read_without_an_error(headers, body, charset):
    head = "".join(f"{name}: {value}\n" for name, value in headers.items() if "\n" not in value and "\r" not in value)
    if "Content-Type" not in headers and charset:
        head += f"Content-Type: text/plain; charset={charset}\n"
    raw = head.encode("utf-8", "surrogateescape") + b"\n" + body
    parsed = parsing.parse(raw)
    assert isinstance(parsed.text, str)
    assert isinstance(parsed.subject, str)
    assert "\x00" not in parsed.subject


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_is_read_without_an_error(raw):
    parsed = parsing.parse(raw)
    assert isinstance(parsed.from_address, str)


def test_the_library_of_real_shaped_messages_reads_as_expected():
    assert parsing.parse(mail.outlook_out_of_office()).automatic == "marked Auto-Submitted: auto-replied"
    assert parsing.parse(mail.gmail_vacation()).automatic == "marked Auto-Submitted: auto-replied"
    assert parsing.parse(mail.mailing_list()).automatic == "marked Precedence: list"
    report = parsing.parse(mail.bounce(original_message_id="<abc@jpditservices.com>"))
    assert (report.is_report, report.report_action, report.report_status) == (True, "failed", "5.1.1")
    assert report.reported_message_ids == ["abc@jpditservices.com"]
    plain = parsing.parse(mail.plain(in_reply_to="<a@b>", references="<x@y> <a@b>"))
    assert (plain.automatic, plain.in_reply_to, plain.references) == ("", ["a@b"], ["x@y", "a@b"])


def test_a_reply_keeps_only_its_new_words():
    text = "Yes, the Marlow site.\n\nOn Mon, 7 Dec 2026 at 10:00, JPD IT Services wrote:\n> Which site?\n> Thanks"
    assert parsing.without_quoted_reply(text) == "Yes, the Marlow site."
    outlook = "It was Tuesday.\n\n-----Original Message-----\nFrom: complaints@jpditservices.com"
    assert parsing.without_quoted_reply(outlook) == "It was Tuesday."
    assert parsing.without_quoted_reply("> only quoted") == "> only quoted"  # nothing new: keep all
