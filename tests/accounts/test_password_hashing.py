"""Staff passwords are hashed with Argon2id; one stored by PBKDF2 still signs in and is rehashed (issue 21, point 5).

The test settings hash with MD5 for speed; these tests put back the product's own hashers.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.urls import reverse

from jpdit_complaints.settings import base
from tests.factories import manager

PASSWORD = "a long staff passphrase 2026"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _product_hashers(settings):
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS


def test_a_new_password_is_hashed_with_argon2id():
    user = manager()
    user.set_password(PASSWORD)
    user.save()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_a_password_stored_with_pbkdf2_signs_in_and_is_rehashed_with_argon2id(client):
    user = manager()
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    wrong = client.post(reverse("staff:login"), {"username": user.username, "password": PASSWORD + "x"})
    assert wrong.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")  # a failed sign-in changes nothing

    response = client.post(reverse("staff:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)
