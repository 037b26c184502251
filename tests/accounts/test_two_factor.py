"""Two-factor sign-in for staff (TOTP, django-otp): required in production, the admin behind it too."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import director, lead

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_REQUIRE_2FA = True


def sign_in(client, user, next_url=""):
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("staff:login"), data)


def code(device: TOTPDevice, *, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def test_after_the_password_a_new_staff_member_is_asked_to_set_up_an_authenticator(client):
    user = lead()

    response = sign_in(client, user)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:two_factor"))
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "Set up your authenticator app" in body
    assert "<svg" in body
    assert re.search(r'class="totp-secret">[A-Z2-7 ]{20,}<', body)
    assert reverse("staff:actions") not in body  # no staff menu before the second step
    assert client.get(reverse("staff:home")).status_code == 302


def test_staff_pages_and_the_admin_stay_closed_until_the_code_is_given(client):
    user = director()
    sign_in(client, user)

    staff_page = client.get(reverse("staff:home"))
    admin_page = client.get(reverse("admin:index"))

    assert staff_page.status_code == 302
    assert staff_page["Location"].startswith(reverse("staff:two_factor"))
    assert admin_page.status_code == 302
    assert "/admin/appeals/" not in client.get(admin_page["Location"], follow=True).content.decode()


def test_a_wrong_code_is_refused_and_the_right_one_opens_everything(client):
    user = director()
    sign_in(client, user)
    client.get(reverse("staff:two_factor"))
    device = TOTPDevice.objects.get(user=user)

    wrong = client.post(reverse("staff:two_factor"), {"token": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    right = client.post(reverse("staff:two_factor"), {"token": code(device), "next": "/admin/"})

    # Set up: the recovery codes are shown once, then on to where the user was going.
    assert right.status_code == 200
    assert len(right.context["codes"]) == 10
    assert 'href="/admin/"' in right.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:appeals_appeal_changelist")).status_code == 200


def test_the_next_sign_in_asks_for_the_code_only(client):
    user = lead()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)

    response = sign_in(client, user)
    page = client.get(response["Location"]).content.decode()

    assert "Enter your sign-in code" in page
    assert "<svg" not in page
    assert client.post(reverse("staff:two_factor"), {"token": code(device)}).status_code == 302
    assert client.get(reverse("staff:home")).status_code == 200


def test_repeated_wrong_codes_are_throttled(client):
    user = lead()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    sign_in(client, user)
    for _ in range(3):
        client.post(reverse("staff:two_factor"), {"token": "12345x"})
        client.post(reverse("staff:two_factor"), {"token": "000001"})

    response = client.post(reverse("staff:two_factor"), {"token": code(device)})

    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()


def test_a_redirect_after_the_code_never_leaves_the_site(client):
    user = lead()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    sign_in(client, user)

    response = client.post(reverse("staff:two_factor"), {"token": code(device), "next": "https://evil.example/"})

    assert response["Location"] == reverse("staff:home")


def test_the_admin_has_no_sign_in_form_of_its_own(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))


def test_a_staff_session_expires_after_its_age_and_the_next_page_asks_to_sign_in_again(client, settings):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    settings.STAFF_REQUIRE_2FA = False
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(lead())
        assert client.get(reverse("staff:home")).status_code == 200
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE

    with time_machine.travel(start + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60), tick=False):
        response = client.get(reverse("staff:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login"))
