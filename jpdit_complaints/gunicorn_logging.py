"""gunicorn's access log without the secrets some paths carry.

A client's secure link is a signed token in the path (``/track/<token>/``, and the confirmation page
``/complaint/received/<token>/``): whoever reads the access log could open that client's case until
the link expires. This logger writes ``/track/[token]/`` instead; the query string is already left
out by the log format (docker-compose.yml, Dockerfile). Used with ``--logger-class``.
"""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger

from jpdit_complaints.log_privacy import mask


class MaskedTokenLogger(Logger):
    """Every value a log format can name (%(U)s, %(r)s, {referer}i, {raw_uri}e...) with tokens masked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: mask(value) for name, value in atoms.items()}


class NoRequestId(logging.Filter):
    """gunicorn's own records have no request id; the JSON lines name the field all the same (empty)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = ""
        return True
