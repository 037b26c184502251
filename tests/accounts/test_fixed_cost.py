"""The fixed cost of a staff request (issue 21, point 3): who, with which roles and which second factor, in one query.

accounts/backends.py reads the user, their permissions and their confirmed devices in one query, and
accounts/middleware.py answers ``is_verified()`` from it (django-otp's middleware read the device with a
query of its own). Nothing is kept between requests, so whatever is taken away applies at the next one.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from tests.factories import lead

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
PAGE = reverse("staff:recovery_codes")  # the door, the second factor and one count of its own


@pytest.fixture
def verified(client, settings):
    """A lead signed in and past the second factor (their authenticator named in the session)."""
    settings.STAFF_REQUIRE_2FA = True
    user = lead()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    client.get(PAGE)  # warm: the session in the cache
    return user, device


def test_a_staff_page_reads_the_user_their_roles_and_second_factor_in_one_query(
    client, verified, django_assert_num_queries
):
    # Before: the user, the device of the session, the permissions (3), then the page's count.
    with django_assert_num_queries(2) as captured:
        assert client.get(PAGE).status_code == 200
    first = captured.captured_queries[0]["sql"]
    assert 'FROM "auth_user"' in first
    assert "auth_permission" in first
    assert "otp_totp_totpdevice" in first
    assert "otp_static_staticdevice" in first


def test_a_role_taken_away_applies_at_the_next_request(client, verified):
    user, _ = verified
    user.groups.remove(Group.objects.get(name="Complaints leads"))
    assert client.get(PAGE).status_code == 403


def test_a_device_removed_unverifies_the_session_at_the_next_request(client, verified):
    user, _ = verified
    two_factor.devices_remove(user)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:two_factor"))
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_a_recovery_code_device_verifies_the_session_as_the_app_does(client, verified):
    user, _ = verified
    codes = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = codes.persistent_id
    session.save()
    assert client.get(PAGE).status_code == 200
    # Someone else's device never verifies this session.
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=lead(), name="x", confirmed=True).persistent_id
    session.save()
    assert client.get(PAGE)["Location"].startswith(reverse("staff:two_factor"))


def test_a_password_session_is_never_taken_for_one_the_identity_provider_verified(client, verified, settings):
    settings.OIDC_ENABLED = True
    session = client.session
    del session[DEVICE_ID_SESSION_KEY]
    session[two_factor.IDENTITY_PROVIDER_SESSION_KEY] = True  # the mark, in a session a password opened
    session.save()
    assert client.get(PAGE)["Location"].startswith(reverse("staff:two_factor"))
