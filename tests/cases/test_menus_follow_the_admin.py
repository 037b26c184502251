"""Changes made in the admin show in the staff menus on the next request (issue 19, point 4).

The menus (categories, the staff who work cases) and the reusable paragraphs are cached a minute
(``cases.selectors.staff_menus``, ``paragraphs``); a change forgets them at once
(``selectors.staff_menus_changed``, connected in ``cases/signals.py``).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.roles import MANAGERS
from cases import selectors
from cases.models import Category, Paragraph
from tests.factories import AcknowledgedComplaintFactory, CategoryFactory, UserFactory, lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


@pytest.fixture
def lead_client():
    browser = Client()
    browser.force_login(lead())
    return browser


def menu(browser) -> str:
    """The staff dashboard, whose filter menus list the categories and the staff."""
    response = browser.get(reverse("staff:home"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_category_added_renamed_and_deleted_in_the_admin_shows_in_the_menu_at_once(admin_client, lead_client):
    CategoryFactory(name="Billing")
    assert ">Billing</option>" in menu(lead_client)  # the menus are cached now

    admin_client.post(reverse("admin:cases_category_add"), {"name": "Data protection", "active": "on"})
    assert ">Data protection</option>" in menu(lead_client)

    category = Category.objects.get(name="Data protection")
    admin_client.post(reverse("admin:cases_category_change", args=[category.pk]), {"name": "Privacy", "active": "on"})
    page = menu(lead_client)
    assert ">Privacy</option>" in page
    assert ">Data protection</option>" not in page

    admin_client.post(reverse("admin:cases_category_delete", args=[category.pk]), {"post": "yes"})
    assert not Category.objects.filter(pk=category.pk).exists()
    assert ">Privacy</option>" not in menu(lead_client)


def test_a_category_switched_off_is_marked_in_the_filter_at_once(admin_client, lead_client):
    category = CategoryFactory(name="Billing")
    menu(lead_client)

    admin_client.post(reverse("admin:cases_category_change", args=[category.pk]), {"name": "Billing"})

    assert ">Billing (no longer used)</option>" in menu(lead_client)


def test_a_paragraph_added_in_the_admin_is_offered_on_the_case_page_at_once(admin_client):
    boss = lead()
    complaint = AcknowledgedComplaintFactory(assignee=boss)
    browser = Client()
    browser.force_login(boss)
    case_page = reverse("staff:case", args=[complaint.reference])
    Paragraph.objects.create(title="Apology", text="We are sorry.")
    assert ">Apology</option>" in browser.get(case_page).content.decode()

    new = {"title": "Next steps", "text": "Then we...", "active": "on"}
    admin_client.post(reverse("admin:cases_paragraph_add"), new)

    assert ">Next steps</option>" in browser.get(case_page).content.decode()


def test_a_new_member_of_staff_is_in_the_assignee_menu_at_once(lead_client):
    newcomer = UserFactory(first_name="Nadia", last_name="Newcomer")
    assert "Nadia Newcomer" not in menu(lead_client)

    newcomer.groups.add(Group.objects.get(name=MANAGERS))

    assert ">Nadia Newcomer</option>" in menu(lead_client)


def test_the_menus_are_forgotten_again_when_the_change_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        CategoryFactory(name="Billing")
        # A request that read the rows before the commit caches what it saw.
        cache.set(selectors.OPTIONS_CACHE_KEY, ([], []))
        cache.set(selectors.PARAGRAPHS_CACHE_KEY, [])

    assert cache.get(selectors.OPTIONS_CACHE_KEY) is None
    assert cache.get(selectors.PARAGRAPHS_CACHE_KEY) is None
    assert [name for _pk, name, _active in selectors.staff_menus()[0]] == ["Billing"]
