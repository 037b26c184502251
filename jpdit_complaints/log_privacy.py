"""Logs never hold a key to a client's case.

A client's secure link is a signed token in the path (``/track/<token>/``, and the confirmation page
``/complaint/received/<token>/``): whoever reads a log line holding one could open that client's case
until the link expires; a satisfaction survey's link (``/feedback/<token>/``) would let its reader answer
for the client. ``mask`` writes ``/track/[token]/`` (``/feedback/[token]/``) instead. Used by gunicorn's access log
(``jpdit_complaints.gunicorn_logging``) and, through ``MaskTokens``, by every log handler of the
settings (Django writes the path of a request that failed, for one).
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"/(track|complaint/received|feedback)/[^/?#\s]+")


def mask(text):
    """Any client link's token in ``text`` (a path, a whole request line, a Referer URL) as ``[token]``."""
    if not isinstance(text, str):
        return text
    return TOKEN_IN_PATH.sub(r"/\1/[token]", text)


class MaskTokens(logging.Filter):
    """A handler filter: the record's message, once formatted, with every token masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
