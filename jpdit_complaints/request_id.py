"""One id per request, on every log line it causes: the web process's and the worker's.

``RequestIdMiddleware`` takes the caller's ``X-Request-ID`` only when it is a plain id (8 to 64 letters,
digits, ``.``, ``_`` or ``-``: nothing that could forge a log line or carry a secret), else makes one; it
keeps it in a context variable for the request and returns it in the response's ``X-Request-ID``.
``RequestIdFilter`` puts it on every log record (``%(request_id)s``). A Celery task queued meanwhile
carries it in its message headers (``before_task_publish``), and the worker takes it back for the
task's run (``task_prerun``), so the worker's lines for that task carry the same id.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun

HEADER = "X-Request-ID"
# The name of the Celery message header carrying it.
TASK_HEADER = "request_id"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

current: ContextVar[str] = ContextVar("request_id", default="")


def accepted(value: str | None) -> str:
    """The caller's id if it is a plain one, else a new one."""
    if value and SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted(request.headers.get(HEADER))
        token = current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Every record gets ``request_id``: the request's or task's id, ``-`` outside both."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get() or "-"
        return True


@before_task_publish.connect
def _carry_into_the_task(headers=None, **kwargs) -> None:
    request_id = current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


@task_prerun.connect
def _take_from_the_task(task=None, **kwargs) -> None:
    carried = getattr(task.request, TASK_HEADER, None) if task is not None else None
    current.set(carried if isinstance(carried, str) and SAFE_ID.fullmatch(carried) else "")


@task_postrun.connect
def _forget_after_the_task(**kwargs) -> None:
    current.set("")
