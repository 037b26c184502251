"""Webhooks: other systems told of a case's events, through the outbox (docs/webhooks.md).

The administrator registers an endpoint in the admin (``WebhookEndpoint``: its address, the events it
wants, whether it may receive personal data). The apps above say which events exist
(``notifications.kinds.register_webhook_events``) and, in the transaction that writes an event's
timeline entry, hand it to ``notifications.services.webhook_queue``: one outbox row per endpoint that
wants it, under the key ``webhook:<endpoint>:<event id>``, so each endpoint hears of each event once.
The worker delivers it as it sends an email (``notifications.services.message_deliver``: claimed,
posted with no lock held, recorded; retried with the same backoff; given up after ``MAX_ATTEMPTS`` and
then listed on the Operations page, where the administrator may send it again).

What is posted: JSON with the event's id, type and time, and the case's ids, reference, states and
dates (``Event.facts``), never personal data, which the outbox row does not keep either. An endpoint
allowed it also gets the client's details (``WebhookEventKind.personal_data``), read when the delivery
is sent, so a case anonymised meanwhile sends none.

How a receiver knows it is us: ``X-JPDIT-Timestamp`` (Unix seconds, the moment of this attempt) and
``X-JPDIT-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret>``, as Stripe
signs its webhooks; ``signature`` below is the one statement of it.

Where it may post: http(s) only, no redirect followed, and, unless ``WEBHOOK_ALLOW_PRIVATE_ADDRESSES``
(tests, a laptop), only to public internet addresses: a name that resolves to a private, loopback,
link-local or reserved address is refused when the endpoint is saved and again before each attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from notifications.kinds import webhook_event_named
from notifications.models import OutboundMessage, WebhookEndpoint

SIGNATURE_HEADER = "X-JPDIT-Signature"
TIMESTAMP_HEADER = "X-JPDIT-Timestamp"
EVENT_HEADER = "X-JPDIT-Event"
DELIVERY_HEADER = "X-JPDIT-Delivery"
USER_AGENT = "JPDIT-Webhooks/1"


def iso(value: date | datetime | None) -> str | None:
    """A date or moment as the payload writes it (ISO 8601; moments in UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


@dataclass(frozen=True)
class Event:
    """Something that happened to a case, as every endpoint that wants it is told.

    ``id``: the timeline entry that records it (``ComplaintEvent.pk``, the API's event id), the same
    for every endpoint; ``facts``: JSON-safe ids, references, states and dates, no personal data.
    """

    kind: str
    id: int
    occurred_at: datetime
    complaint_id: int | None
    facts: dict[str, Any]

    def as_payload(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.kind, "occurred_at": iso(self.occurred_at), **self.facts}


# --- Who wants what (the administrator's endpoints, cached a minute) ------------------------------

ENDPOINTS_CACHE_KEY = "notifications:webhook-endpoints:v1"
ENDPOINTS_CACHE_SECONDS = 60


def _subscriptions() -> list[tuple[int, list[str]]]:
    """(endpoint id, events wanted) of every active endpoint: read once a minute, not with every event."""
    table = cache.get(ENDPOINTS_CACHE_KEY)
    if table is None:
        table = [
            (pk, list(events)) for pk, events in WebhookEndpoint.objects.filter(active=True).values_list("pk", "events")
        ]
        cache.set(ENDPOINTS_CACHE_KEY, table, ENDPOINTS_CACHE_SECONDS)
    return table


def endpoints_changed(**kwargs) -> None:
    """Forget the cached endpoints (one was added, changed or switched off): now, and when the change commits."""
    cache.delete(ENDPOINTS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(ENDPOINTS_CACHE_KEY))


def delivery_key(endpoint_id: int, event_id: int) -> str:
    return f"webhook:{endpoint_id}:{event_id}"


def deliveries(event: Event, *, now: datetime, first_attempt_at: datetime) -> list[OutboundMessage]:
    """The outbox rows (unsaved) of ``event``, one per active endpoint that wants it."""
    webhook_event_named(event.kind)  # an unregistered event is a programming error: refused before any write
    payload = event.as_payload()
    return [
        OutboundMessage(
            dedupe_key=delivery_key(endpoint_id, event.id),
            kind=event.kind,
            endpoint_id=endpoint_id,
            complaint_id=event.complaint_id,
            client_visible=False,
            context={"event": payload},
            next_attempt_at=first_attempt_at,
            created_at=now,
        )
        for endpoint_id, wanted in _subscriptions()
        if event.kind in wanted
    ]


# --- Where it may post -------------------------------------------------------------------------------


def address_problem(url: str) -> str:
    """Why webhooks may not be posted to ``url``, or "" if they may (checked on saving and before each attempt)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Only http:// and https:// addresses can receive webhooks."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address: the signature tells the receiver it is us."
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    try:
        addresses = _addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError, ValueError):
        return f"{parts.hostname} cannot be found."
    if any(not address.is_global or address.is_multicast for address in addresses):
        return (
            f"{parts.hostname} is a private, loopback or reserved address: webhooks go only to addresses on "
            "the internet."
        )
    return ""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses ``host`` stands for: itself if it is one, else every address its name resolves to."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in found]


# --- Signing and posting -------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256, with the endpoint's secret, of ``<timestamp>.<body>``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "v1=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


class WebhookRefused(Exception):
    """The receiver answered with something other than 2xx (a redirect included: none is followed)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")


class AddressRefused(Exception):
    """The endpoint's address is not one webhooks may go to (``address_problem``)."""


# Failures recorded with their own words (an HTTP status, why an address was refused): they name no person.
SAY_WHY = (WebhookRefused, AddressRefused)


@dataclass(frozen=True)
class Posted:
    """A delivery the receiver accepted: what is kept of it (no personal data) and the answer's status."""

    subject: str
    body: str
    status: int


def post(message: OutboundMessage, *, at: datetime) -> Posted:
    """Post one delivery to its endpoint, signed for the moment ``at``; raise unless the answer is 2xx.

    Runs with no row locked (``notifications.services.message_deliver``). The answer's body is never read.
    """
    endpoint = message.endpoint
    if endpoint is None:
        raise ValueError(f"Outbox row {message.pk} is an email, not a webhook delivery.")
    problem = address_problem(endpoint.url)
    if problem:
        raise AddressRefused(problem)
    kind = webhook_event_named(message.kind)
    kept = dict(message.context.get("event", {}))
    sent = dict(kept)
    if endpoint.may_receive_personal_data and kind.personal_data is not None:
        sent.update(kind.personal_data(message))
    body = _json(sent)
    timestamp = str(int(at.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: message.kind,
        DELIVERY_HEADER: message.public_id.hex,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(endpoint.secret, timestamp, body),
    }
    timeout = (settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS)
    with requests.post(
        endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
    ) as response:
        status = response.status_code
    if not 200 <= status < 300:
        raise WebhookRefused(status)
    return Posted(subject=message.kind, body=_json(kept).decode("utf-8"), status=status)
