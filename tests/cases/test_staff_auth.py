"""Staff sign-in and sign-out (django-axes throttling), the staff gate, and the staff landing page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLES
from cases import selectors
from cases.access import complaints_visible_to
from tests.factories import (
    AcknowledgedComplaintFactory,
    ComplaintFactory,
    UserFactory,
    director,
    lead,
    manager,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = reverse("staff:login")
HOME = reverse("staff:home")


def short_date(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


# --- signing in and out ----------------------------------------------------------


def test_login_page_renders_a_form_with_csrf(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content
    assert b'autocomplete="current-password"' in response.content


def test_lead_signs_in_and_lands_on_staff_home(client):
    user = lead(username="lena")
    response = sign_in(client, "lena")
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_in_returns_to_the_page_asked_for(client):
    lead(username="lena")
    response = client.post(LOGIN, {"username": "lena", "password": PASSWORD, "next": "/staff/complaints/new/"})
    assert response["Location"] == "/staff/complaints/new/"


def test_sign_in_refuses_a_next_url_on_another_site(client):
    lead(username="lena")
    response = client.post(LOGIN, {"username": "lena", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == HOME


def test_wrong_password_shows_an_error_and_signs_nobody_in(client):
    lead(username="lena")
    response = sign_in(client, "lena", "not the password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(client):
    lead(username="lena")
    assert settings.AXES_FAILURE_LIMIT == 5
    for attempt in range(4):
        response = sign_in(client, "lena", f"wrong-{attempt}")
        assert response.status_code == 200, attempt
    fifth = sign_in(client, "lena", "wrong-5")
    assert fifth.status_code == 429
    sixth = sign_in(client, "lena")
    assert sixth.status_code == 429
    assert "staff/locked_out.html" in [t.name for t in sixth.templates]
    page = sixth.content.decode()
    assert "Sign-in temporarily locked" in page
    assert "60 minutes" in page
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client):
    lead(username="lena")
    lead(username="omar")
    for attempt in range(5):
        sign_in(client, "lena", f"wrong-{attempt}")
    # Another account from the same address, and the same account from another address, still get in.
    assert sign_in(client, "omar").status_code == 302
    client.logout()
    assert sign_in(client, "lena", REMOTE_ADDR="10.0.0.7").status_code == 302


def test_logout_requires_post(client):
    user = lead()
    client.force_login(user)
    assert client.get(reverse("staff:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("staff:logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


# --- who may use the staff pages ---------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={HOME}"


def test_signed_in_user_without_staff_flag_gets_403(client):
    user = UserFactory(is_staff=False, groups=["Complaints leads"])
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 403
    assert "You cannot use this page" in response.content.decode()


def test_staff_user_without_a_complaints_role_gets_403(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(HOME).status_code == 403
    assert client.get(reverse("staff:complaint_log")).status_code == 403


def test_inactive_role_holder_cannot_use_staff_pages(client):
    user = lead()
    client.force_login(user)
    user.is_active = False
    user.save()
    # Django's ModelBackend drops an inactive user's session: they are anonymous again.
    assert client.get(HOME).status_code == 302


def test_superuser_may_use_staff_pages(client):
    client.force_login(UserFactory(is_superuser=True, groups=[]))
    assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("role", [lead, manager, director])
def test_each_staff_role_reaches_the_home_page(client, role):
    client.force_login(role())
    response = client.get(HOME)
    assert response.status_code == 200
    assert "Administration" in response.content.decode()


# --- the landing page ----------------------------------------------------------------


def test_lead_sees_log_button_and_open_complaints_soonest_deadline_first(client):
    now = timezone.now()
    older = ComplaintFactory(name="Older Client", received_at=now - dt.timedelta(days=2))
    newer = AcknowledgedComplaintFactory(name="Newer Client", received_at=now - dt.timedelta(hours=1))
    client.force_login(lead())
    page = " ".join(client.get(HOME).content.decode().split())
    assert reverse("staff:complaint_log") in page
    assert "Log a complaint" in page
    # The landing page is the dashboard (tests/cases/test_dashboard.py): sorted by the running deadline.
    assert page.index(older.reference) < page.index(newer.reference)
    assert f"Acknowledge by {short_date(older.acknowledgement_due)}" in page
    assert f"Outcome by {short_date(newer.outcome_due)}" in page


def test_manager_sees_the_list_but_no_log_button(client):
    complaint = ComplaintFactory()
    client.force_login(manager())
    response = client.get(HOME, {"tab": "unassigned"})
    page = response.content.decode()
    assert complaint.reference in page
    assert reverse("staff:complaint_log") not in page


def test_manager_does_not_see_a_colleagues_case(client):
    colleague = manager()
    theirs = ComplaintFactory(assignee=colleague)
    unassigned = ComplaintFactory()
    client.force_login(manager())
    page = client.get(HOME, {"tab": "unassigned"}).content.decode()
    assert unassigned.reference in page
    assert theirs.reference not in page


def test_director_is_pointed_to_the_admin_not_shown_cases(client):
    complaint = ComplaintFactory()
    client.force_login(director())
    page = client.get(HOME).content.decode()
    assert complaint.reference not in page
    assert reverse("admin:index") in page


def test_client_text_on_the_list_is_escaped(client):
    ComplaintFactory(name="<script>alert(1)</script>")
    client.force_login(lead())
    page = client.get(HOME).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_overdue_acknowledgement_is_flagged(client):
    ComplaintFactory(received_at=timezone.now() - dt.timedelta(days=10))
    client.force_login(lead())
    assert "Overdue" in client.get(HOME).content.decode()


def test_recent_list_is_capped_and_runs_in_one_query(django_assert_num_queries):
    user = lead()
    now = timezone.now()
    ComplaintFactory.create_batch(30, received_at=now - dt.timedelta(hours=3))
    newest = ComplaintFactory(received_at=now)
    # Warm the per-request role and permission caches: the list itself is one query.
    complaints_visible_to(user)
    with django_assert_num_queries(1):
        rows = selectors.complaint_list_recent(user=user, limit=25)
    assert len(rows) == 25
    assert rows[0] == newest


def test_home_page_queries_do_not_grow_with_the_number_of_complaints(client, django_assert_max_num_queries):
    client.force_login(lead())
    ComplaintFactory.create_batch(3)
    with django_assert_max_num_queries(11) as few:
        client.get(HOME)
    ComplaintFactory.create_batch(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(HOME)


def test_staff_group_names_match_the_roles_migration():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)
