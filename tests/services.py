"""Where the optional services are, if this machine has them."""

from __future__ import annotations

import os
import shutil
import socket
from functools import cache
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
REQUIRE_SERVICES = os.environ.get("JPDIT_REQUIRE_SERVICES") == "1"


def missing(reason: str) -> None:
    """A service or tool this machine lacks: a failure under JPDIT_REQUIRE_SERVICES=1 (CI), else a skip."""
    import pytest

    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (JPDIT_REQUIRE_SERVICES=1: required services must be present)")
    raise pytest.skip.Exception(reason)  # only when the service is missing and not required


@cache
def redis_url() -> str | None:
    """TEST_REDIS_URL if set and reachable (a laptop without Redis gets None)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return None
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return url
    except OSError:
        return None


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")
