"""Security settings and headers: a strict Content-Security-Policy everywhere, production hardened."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import lead
from tests.test_settings import GOOD_KEY, production, run

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("url", ["/", "/procedure/", "/staff/login/", "/admin/login/"])
def test_every_page_carries_a_strict_content_security_policy(client, url):
    response = client.get(url)

    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_pages_cannot_be_framed_or_sniffed_and_keep_the_referrer_on_site(client):
    client.force_login(lead())

    response = client.get(reverse("staff:home"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")


def test_our_pages_have_no_inline_script_or_style_for_the_policy_to_block(client):
    client.force_login(lead())

    for url in ("/", "/procedure/", "/privacy/", reverse("staff:home"), reverse("staff:actions")):
        body = client.get(url).content.decode()
        assert "<style" not in body, url
        assert " style=" not in body, url
        assert "<script>" not in body, url
        assert " onclick=" not in body, url


def test_production_passes_the_deployment_checklist_with_no_warnings():
    result = run(production(SECRET_KEY=GOOD_KEY), "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_requires_two_factor_sign_in_and_secure_cookies():
    probe = (
        "from jpdit_complaints.environment import use_default_settings; use_default_settings();"
        "from django.conf import settings as s;"
        "print(s.STAFF_REQUIRE_2FA, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000,"
        " s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.X_FRAME_OPTIONS)"
    )

    result = run(production(SECRET_KEY=GOOD_KEY), "-c", probe)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "True", "DENY"]
