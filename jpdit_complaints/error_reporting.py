"""Optional error reporting to Sentry (``SENTRY_DSN``), with nothing personal or secret in what is sent.

sentry-sdk 3's ``data_collection`` (which replaced 2.x's ``send_default_pii=False``) keeps the user's
details, cookies, request bodies, query strings, SQL parameters and stack frames' local variables out;
``scrub`` (every event and breadcrumb, before it leaves) makes sure of it: cookies, request bodies,
headers other than a short safe list and the user's details are dropped, and every string left has
client links' tokens (``log_privacy.mask``) and email addresses masked.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from jpdit_complaints.log_privacy import mask

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
SAFE_HEADERS = {"User-Agent", "Accept", "Content-Type", "Content-Length", "Host", "X-Request-Id", "X-Request-ID"}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return EMAIL.sub("[email]", mask(value))
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def scrub(event: dict, hint: dict | None = None) -> dict:
    """The event (or breadcrumb) without personal data or tokens."""
    request = event.get("request")
    if isinstance(request, dict):
        for field in ("cookies", "data", "query_string", "env"):
            request.pop(field, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: value for name, value in headers.items() if name in SAFE_HEADERS}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return _masked(event)


def init(dsn: str, *, environment: str = "production", transport: Any = None) -> None:
    """Start error reporting (settings/production.py, when ``SENTRY_DSN`` is set)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "stack_frame_variables": False,
            "database_query_data": False,
        },
        before_send=scrub,
        before_breadcrumb=scrub,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        transport=transport,
    )
