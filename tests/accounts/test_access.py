"""The role check of every staff page: Django's own permission look-ups, read once per request."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.access import is_case_staff
from cases import permissions
from tests.factories import UserFactory, director, lead, manager

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as a new request loads it: no permission caches yet."""
    return get_user_model().objects.get(pk=user.pk)


def test_role_and_every_permission_check_after_it_cost_one_query():
    user = fresh(manager())
    with CaptureQueriesContext(connection) as queries:
        assert is_case_staff(user)
        assert permissions.is_case_worker(user)
        assert not permissions.is_lead(user)
        assert user.has_perm("cases.work_complaint")
    # accounts.backends reads the user's own permissions and their groups' at once, then answers from memory.
    assert len(queries.captured_queries) == 1


@pytest.mark.parametrize("make", [manager, lead, director])
def test_permissions_loaded_with_the_role_are_those_django_would_load(make):
    user = make()
    ours = fresh(user)
    assert is_case_staff(ours)
    assert ours.get_all_permissions() == ModelBackend().get_all_permissions(fresh(user))
    assert ours.get_all_permissions()  # every staff role holds some


def test_a_permission_given_to_the_user_directly_counts():
    user = manager()
    user.user_permissions.add(Permission.objects.get(codename="manage_all_complaints"))
    user = fresh(user)
    assert is_case_staff(user)
    assert permissions.is_lead(user)


def test_an_account_without_a_staff_role_is_refused_and_holds_no_case_permission():
    user = fresh(UserFactory(is_staff=True))
    assert not is_case_staff(user)
    assert not permissions.is_case_worker(user)


def test_a_role_taken_away_applies_on_the_next_request():
    user = manager()
    assert is_case_staff(fresh(user))
    user.groups.clear()
    assert not is_case_staff(fresh(user))
