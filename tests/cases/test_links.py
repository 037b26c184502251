"""Secure client links: good for one case, for a limited time, until revoked; forgeries get nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from cases import links
from tests.factories import ComplaintFactory

pytestmark = pytest.mark.django_db


def test_a_fresh_link_opens_its_own_case():
    complaint, other = ComplaintFactory(), ComplaintFactory()
    check = links.check_client_token(links.client_token(complaint))
    assert check.ok
    assert check.complaint == complaint
    assert check.complaint != other
    assert check.stale_for is None


def test_the_link_does_not_carry_the_reference_number():
    complaint = ComplaintFactory()
    assert complaint.reference not in links.client_token(complaint)


def test_the_url_is_on_the_site_and_under_track():
    complaint = ComplaintFactory()
    url = links.client_url(complaint)
    assert url.startswith("http://testserver/track/")
    assert url.endswith(links.client_token(complaint) + "/")


def test_a_link_works_until_its_last_day_and_then_expires(settings):
    settings.CLIENT_LINK_MAX_AGE_DAYS = 30
    complaint = ComplaintFactory()
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        token = links.client_token(complaint)
    with time_machine.travel(now + timedelta(days=30) - timedelta(minutes=1), tick=False):
        assert links.check_client_token(token).ok
    with time_machine.travel(now + timedelta(days=30, minutes=1), tick=False):
        check = links.check_client_token(token)
    assert not check.ok
    assert check.stale_for == complaint


def test_bumping_the_link_version_revokes_every_earlier_link():
    complaint = ComplaintFactory()
    old_token = links.client_token(complaint)
    complaint.client_link_version += 1
    complaint.save(update_fields=["client_link_version"])

    old = links.check_client_token(old_token)
    assert not old.ok
    assert old.stale_for == complaint
    assert links.check_client_token(links.client_token(complaint)).ok


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="tampered-signature"),
        pytest.param(lambda token: "x" + token, id="tampered-payload"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
        pytest.param(lambda token: "", id="empty"),
        pytest.param(
            lambda token: signing.dumps(["0" * 32, 1], salt=links.SALT, compress=True), id="signed-for-no-case"
        ),
        pytest.param(lambda token: signing.dumps(["nonsense"], salt=links.SALT), id="signed-bad-payload"),
        pytest.param(lambda token: signing.dumps(["not-a-uuid", 1], salt=links.SALT), id="signed-not-a-uuid"),
    ],
)
def test_forged_or_garbled_tokens_are_refused_without_naming_a_case(make_token):
    complaint = ComplaintFactory()
    check = links.check_client_token(make_token(links.client_token(complaint)))
    assert not check.ok
    assert check.complaint is None
    assert check.stale_for is None


def test_a_token_signed_for_another_purpose_is_refused():
    complaint = ComplaintFactory()
    token = signing.dumps([complaint.public_id.hex, complaint.client_link_version], salt="another.purpose")
    assert links.check_client_token(token) == links.LinkCheck()


def test_a_link_to_a_deleted_case_is_refused():
    complaint = ComplaintFactory()
    token = links.client_token(complaint)
    complaint.delete()
    assert links.check_client_token(token) == links.LinkCheck()
