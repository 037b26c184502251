"""Staff revoke the client's secure links: old links stop working and offer a fresh one to the case's email."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import links
from cases.models import Complaint
from tests.factories import AcknowledgedComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db


def test_revoking_makes_every_old_link_stale_and_a_new_link_works(client):
    complaint = AcknowledgedComplaintFactory()
    old = links.client_token(complaint)
    client.force_login(lead())

    response = client.post(
        reverse("staff:case_revoke_links", args=[complaint.reference]), {"revoke-expected_revision": complaint.revision}
    )

    assert response.status_code == 303
    complaint.refresh_from_db()
    check = links.check_client_token(old)
    assert not check.ok
    assert check.stale_for == complaint
    assert links.check_client_token(links.client_token(complaint)).ok
    assert complaint.events.filter(summary__startswith="Every secure link", client_visible=False).exists()


def test_an_old_link_after_revocation_shows_only_the_offer_of_a_fresh_link(client):
    complaint = AcknowledgedComplaintFactory()
    old = links.client_token(complaint)
    Complaint.objects.filter(pk=complaint.pk).update(client_link_version=complaint.client_link_version + 1)

    body = client.get(reverse("client:case", args=[old])).content.decode()

    assert complaint.description[:30] not in body
    assert complaint.name not in body
    assert reverse("client:fresh_link", args=[old]) in body


def test_a_manager_who_cannot_see_the_case_cannot_revoke_its_links(client):
    complaint = AcknowledgedComplaintFactory(assignee=manager())
    client.force_login(manager())

    response = client.post(
        reverse("staff:case_revoke_links", args=[complaint.reference]), {"revoke-expected_revision": complaint.revision}
    )

    assert response.status_code == 404
    complaint.refresh_from_db()
    assert complaint.client_link_version == 1
