"""Flood control for the public pages: a few complaints, and a few requests for a new link, per address per hour.

Counted in Django's cache with atomic ``add`` + ``incr`` (so two requests at the
same moment cannot both take the last place), in fixed one-hour windows. The
address is hashed before it becomes a cache key: the cache never holds a
client's IP address. Real clients are never blocked for long: the refusal tells
them when to try again and gives the phone number.

Settings: ``INTAKE_RATE_LIMIT_ENABLED`` (both), ``INTAKE_RATE_LIMIT_PER_HOUR``,
``LINK_REQUEST_RATE_LIMIT_PER_HOUR`` and
``TRUSTED_PROXY_COUNT`` (how many reverse proxies in front of us append to
X-Forwarded-For; 0 means use the connection's address).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from jpdit_complaints.network import client_ip

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60 * 60
KEY_PREFIX = "intake-rate"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # When the address may try again (only meaningful when refused).
    retry_at: datetime | None = None

    @property
    def retry_after_seconds(self) -> int:
        if self.retry_at is None:
            return 0
        return max(int((self.retry_at - timezone.now()).total_seconds()), 1)

    @property
    def retry_in_minutes(self) -> int:
        return max((self.retry_after_seconds + 59) // 60, 1)


def _key(ip: str, window: int, prefix: str = KEY_PREFIX) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{ip}".encode()).hexdigest()[:32]
    return f"{prefix}:{digest}:{window}"


def intake_attempt(request) -> Decision:
    """Count one complaint from this request's address; refuse it if the hour's allowance is used up."""
    return _attempt(request, prefix=KEY_PREFIX, per_hour=settings.INTAKE_RATE_LIMIT_PER_HOUR)


def link_request_attempt(request) -> Decision:
    """Count one request for a new link from this address (``LINK_REQUEST_RATE_LIMIT_PER_HOUR``): the public
    page that sends one must not let anyone try references and addresses by the thousand."""
    return _attempt(request, prefix="link-request-rate", per_hour=settings.LINK_REQUEST_RATE_LIMIT_PER_HOUR)


def _attempt(request, *, prefix: str, per_hour: int) -> Decision:
    if not settings.INTAKE_RATE_LIMIT_ENABLED:
        return Decision(allowed=True)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = _key(client_ip(request), window, prefix)
    # add() is a no-op if the key exists; incr() is atomic in every cache backend we use.
    cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 60)
        count = 1
    if count is None:
        # The cache (Redis) is down and cannot count: let the complaint in. A client must never be
        # turned away by our outage; the honeypot still stops the simplest bots meanwhile.
        logger.warning("Intake rate limit not applied: the cache cannot count")
        return Decision(allowed=True)
    if count <= per_hour:
        return Decision(allowed=True)
    window_end = (window + 1) * WINDOW_SECONDS
    return Decision(allowed=False, retry_at=timezone.now() + timedelta(seconds=window_end - now))
