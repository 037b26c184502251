"""Where staff land after signing in with no page asked for: a Director on the appeals they decide."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.test_two_factor import code, sign_in
from tests.factories import director, lead, manager

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("make", "home"),
    [(director, "admin:appeals_appeal_changelist"), (lead, "staff:home"), (manager, "staff:home")],
)
def test_after_the_second_step_each_role_lands_on_its_own_work(client, settings, make, home):
    settings.STAFF_REQUIRE_2FA = True
    user = make()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    sign_in(client, user)

    response = client.post(reverse("staff:two_factor"), {"token": code(device)})

    assert response.status_code == 302
    assert response["Location"] == reverse(home)


def test_a_page_asked_for_still_wins_over_the_landing_page(client, settings):
    settings.STAFF_REQUIRE_2FA = True
    user = director()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    sign_in(client, user, next_url=reverse("reports:report"))

    response = client.post(reverse("staff:two_factor"), {"token": code(device), "next": reverse("reports:report")})

    assert response["Location"] == reverse("reports:report")


def test_without_a_second_step_a_director_lands_on_the_appeals_too(client, settings):
    settings.STAFF_REQUIRE_2FA = False
    response = sign_in(client, director())
    assert response["Location"] == reverse("admin:appeals_appeal_changelist")
