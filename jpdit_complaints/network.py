"""The client's address, as the intake rate limit, the audit trail and django-axes must all see it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the entry our own proxies added to X-Forwarded-For.

    With N trusted proxies (``TRUSTED_PROXY_COUNT``), each appends the address it received the
    request from, so the client is the N-th entry from the right; anything further left was
    written by the client and cannot be trusted.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
        if len(entries) >= proxies:
            candidate = entries[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote
