"""Calls per token (``API_THROTTLE_RATE``), counted in the cache: one system's loop cannot slow the staff pages.

A cache that is down (``jpdit_complaints.cache``) forgets the counts: the calls go through.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api-token"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None  # refused anyway
        return f"api-throttle:{token.pk}"
