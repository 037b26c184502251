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


DOVECOT = "/usr/sbin/dovecot"


def dovecot_path() -> str | None:
    """Debian's Dovecot (dovecot-imapd), which the IMAP tests start as a private server (tests/imap.py)."""
    return DOVECOT if os.path.exists(DOVECOT) else None


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


# Headless Debian Chromium as this machine runs it, and the two widths every screenshot is taken at.
BROWSER_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
# The password tests.factories.UserFactory gives every user.
STAFF_PASSWORD = "correct horse battery staple"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=list(BROWSER_ARGS))


def screenshot_dir():
    """$SCREENSHOT_DIR (default var/screenshots), created."""
    from pathlib import Path

    out = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def sign_in_staff(page, base_url: str, username: str, password: str = STAFF_PASSWORD) -> None:
    """Sign in through the staff sign-in form (opened unless the page shows it) and land on the dashboard."""
    from django.urls import reverse

    login = f"{base_url}{reverse('staff:login')}"
    if page.url != login:
        page.goto(login)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{reverse('staff:home')}")
