"""The second sign-in step, continued (issue 19, point 3): the session key changes again after it; one-time
recovery codes; a lead or administrator resets a colleague's lost device, audited, and the colleague enrols
again."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from audit.models import AuditEntry
from tests.accounts.test_two_factor import PASSWORD, code, sign_in
from tests.factories import UserFactory, lead, manager

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_REQUIRE_2FA = True


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name=two_factor.DEVICE_NAME, confirmed=True)


def verified_client(user) -> Client:
    """A browser that signed ``user`` in with both steps."""
    browser = Client()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrolled(user)
    sign_in(browser, user)
    assert browser.post(reverse("staff:two_factor"), {"token": code(device)}).status_code == 302
    return browser


def test_the_session_key_changes_after_the_second_step_as_after_the_password(client):
    user = lead()
    device = enrolled(user)
    client.get(reverse("staff:login"))
    sign_in(client, user)
    after_password = client.session.session_key

    client.post(reverse("staff:two_factor"), {"token": code(device)})

    assert client.session.session_key != after_password
    assert client.get(reverse("staff:home")).status_code == 200
    # The key seen before the second step opens nothing now.
    old = Client()
    old.cookies["sessionid"] = after_password
    assert old.get(reverse("staff:home")).status_code == 302


def test_setting_up_the_app_shows_ten_recovery_codes_once(client):
    user = lead()
    sign_in(client, user)
    client.get(reverse("staff:two_factor"))
    device = TOTPDevice.objects.get(user=user)

    response = client.post(reverse("staff:two_factor"), {"token": code(device)})

    codes = response.context["codes"]
    assert response.status_code == 200
    assert len(set(codes)) == 10
    assert all(c in response.content.decode() for c in codes)
    assert two_factor.recovery_codes_left(user) == 10
    page = client.get(reverse("staff:recovery_codes")).content.decode()
    assert "You have 10 unused recovery codes" in page
    assert not any(c in page for c in codes)  # never shown again


def test_a_recovery_code_opens_the_second_step_once_and_rotates_the_session_key(client):
    user = lead()
    enrolled(user)
    first, *_ = two_factor.recovery_codes_issue(user)
    sign_in(client, user)
    after_password = client.session.session_key

    response = client.post(reverse("staff:two_factor"), {"token": f" {first.upper()} "})

    assert response.status_code == 302
    assert client.session.session_key != after_password
    assert client.get(reverse("staff:home")).status_code == 200
    assert two_factor.recovery_codes_left(user) == 9

    again = Client()
    sign_in(again, user)
    refused = again.post(reverse("staff:two_factor"), {"token": first})
    assert refused.status_code == 400
    assert "has been used already" in refused.content.decode()
    assert again.get(reverse("staff:home")).status_code == 302


def test_a_new_set_of_codes_ends_the_old_set(client):
    user = lead()
    old_codes = two_factor.recovery_codes_issue(user)
    browser = verified_client(user)

    response = browser.post(reverse("staff:recovery_codes"))

    new_codes = response.context["codes"]
    assert len(new_codes) == 10
    assert set(new_codes).isdisjoint(old_codes)
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == set(new_codes)
    sign_in(client, user)
    assert client.post(reverse("staff:two_factor"), {"token": new_codes[0]}).status_code == 302
    other = Client()
    sign_in(other, user)
    assert other.post(reverse("staff:two_factor"), {"token": old_codes[0]}).status_code == 400


def test_recovery_codes_do_not_replace_setting_up_the_app(client):
    user = lead()
    codes = two_factor.recovery_codes_issue(user)  # left from an earlier device
    sign_in(client, user)

    response = client.post(reverse("staff:two_factor"), {"token": codes[0]})

    assert response.status_code == 400
    assert client.get(reverse("staff:home")).status_code == 302


def test_a_lead_resets_a_colleagues_lost_device_audited_and_the_colleague_enrols_again(client):
    boss, colleague = lead(), manager()
    two_factor.recovery_codes_issue(colleague)
    colleagues_browser = verified_client(colleague)
    assert colleagues_browser.get(reverse("staff:home")).status_code == 200

    response = verified_client(boss).post(reverse("staff:staff_sign_in"), {"person": colleague.pk})

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert not StaticDevice.objects.filter(user=colleague).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, user=boss)
    assert entry.description == f"Reset the sign-in authenticator and recovery codes of {colleague.username}"
    assert entry.path == reverse("staff:staff_sign_in")
    # The session verified with the removed device is sent back to the second step, now to set up an app.
    back = colleagues_browser.get(reverse("staff:home"))
    assert back["Location"].startswith(reverse("staff:two_factor"))
    sign_in(client, colleague)
    assert "Set up your authenticator app" in client.get(reverse("staff:two_factor")).content.decode()


@pytest.mark.parametrize("whose", ["superuser", "own"])
def test_a_lead_cannot_reset_an_administrators_device_or_their_own(whose):
    boss = lead()
    person = UserFactory(is_superuser=True) if whose == "superuser" else boss
    enrolled(person)
    browser = verified_client(boss)

    response = browser.post(reverse("staff:staff_sign_in"), {"person": person.pk})

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=person).exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CHANGE).exists()
    page = browser.get(reverse("staff:staff_sign_in")).content.decode()
    assert f'name="person" value="{person.pk}"' not in page


def test_an_administrator_resets_a_leads_device_but_a_manager_may_not_reset_anyones():
    admin, boss, worker = UserFactory(is_superuser=True), lead(), manager()
    enrolled(boss)

    refused = verified_client(worker).post(reverse("staff:staff_sign_in"), {"person": boss.pk})
    assert refused.status_code == 403
    assert TOTPDevice.objects.filter(user=boss).exists()

    done = verified_client(admin).post(reverse("staff:staff_sign_in"), {"person": boss.pk})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=boss).exists()
    assert AuditEntry.objects.filter(user=admin, description__contains=boss.username).count() == 1


def test_the_sign_in_page_lists_each_colleague_with_their_app_and_codes_left():
    boss, colleague = lead(), manager(first_name="Mo", last_name="Manager")
    enrolled(colleague)
    two_factor.recovery_codes_issue(colleague)

    page = verified_client(boss).get(reverse("staff:staff_sign_in"))

    row = next(r for r in page.context["people"] if r.person == colleague)
    assert (row.has_app, row.codes_left, row.refused) == (True, 10, "")
    assert f"Reset sign-in of {colleague.username}" in page.content.decode()


def test_the_password_is_still_needed(client):
    user = lead()
    response = client.post(reverse("staff:login"), {"username": user.username, "password": PASSWORD + "x"})
    assert response.status_code == 200
    assert client.get(reverse("staff:recovery_codes")).status_code == 302
