"""Every staff URL, for every role, against someone else's case (issue 3, item 5).

The URLs are read from ``jpdit_complaints.urls.staff_patterns`` (every app's), so a new staff page is
walked as soon as it is added; a URL parameter this file cannot fill makes
the walk fail (add a filler to ``FILLERS``). For each URL, GET and POST:

* anonymous visitors, and clients (no account: a visitor who opened their own
  secure page) are sent to the sign-in page;
* signed-in people without a staff role get the 403 page;
* staff with no role in the case (a manager not assigned, a manager busy with
  their own case, the Director) get a 404 byte-for-byte the same as for a
  reference that does not exist: no reference, name or title leaks (or the
  403 page, as for a missing case, where their role may not use that page at all);
* the manager assigned to the case and complaints leads are let in.

URLs without a reference are checked for role access only. Lead-only pages that
need a case in a particular state (logging an appeal needs an issued outcome) also
get a test of their own below.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, reverse

from appeals.models import Appeal
from cases import links, services
from cases.models import Action
from jpdit_complaints.urls import staff_patterns
from notifications.models import Letter, OutboundMessage
from tests.appeals.helpers import responded
from tests.factories import (
    AcknowledgedComplaintFactory,
    AttachmentFactory,
    UserFactory,
    business_days_from_today,
    director,
    lead,
    manager,
)
from tests.inbound import mail
from tests.inbound.helpers import waiting_email

pytestmark = pytest.mark.django_db

MISSING_REFERENCE = "JPD-2026-99999-Z"
# Staff URLs anyone may call: signing in and out (single sign-on's pages too: 404 while it is off,
# tests/accounts/test_single_sign_on.py), the load balancer's liveness check and the readiness check (its
# status only, tests/procedure/test_operations.py).
OPEN_TO_ALL = {"login", "logout", "sso_start", "sso_callback", "healthz", "readyz"}
METHODS = ("get", "post")
REFUSED_ROLES = ("manager_not_assigned", "manager_busy_elsewhere", "director")
ANONYMOUS_ROLES = ("anonymous", "client")
NO_ROLE = ("signed_in_not_staff", "staff_account_without_role")
ROLES = (*ANONYMOUS_ROLES, *NO_ROLE, *REFUSED_ROLES, "assigned_manager", "lead")


@pytest.fixture
def world():
    """Someone else's case with one of everything a URL may point at, and a case of the busy manager."""
    owner = manager(first_name="Olive", last_name="Owner")
    complaint = AcknowledgedComplaintFactory(
        assignee=owner,
        name="Zebedee Quixote",
        email="zebedee@example.org",
        organisation="Quixotic Holdings",
        description="A uniquely worded complaint about the quantum router.",
    )
    complaint = services.complaint_start_investigation(actor=owner, complaint=complaint)
    services.complaint_add_note(actor=owner, complaint=complaint, text="Internal thoughts.")
    attachment = AttachmentFactory(complaint=complaint)
    letter = Letter(complaint=complaint, kind="acknowledgement")
    letter.file.save("letter.pdf", ContentFile(b"%PDF-1.7 test"), save=False)
    letter.save()
    action = Action.objects.create(
        complaint=complaint,
        kind=Action.Kind.PUT_RIGHT,
        description="Refund the fee.",
        owner=owner,
        due_date=business_days_from_today(7),
    )
    busy = manager()
    AcknowledgedComplaintFactory(assignee=busy)
    email = waiting_email(mail.from_stranger_quoting(complaint.reference))
    return {
        "complaint": complaint,
        "owner": owner,
        "busy": busy,
        "ids": {"attachment_id": attachment.pk, "letter_id": letter.pk, "action_id": action.pk, "email_id": email.pk},
        "secrets": [complaint.reference, complaint.name, complaint.email, complaint.organisation, "quantum router"],
    }


# How to fill each URL parameter: the reference of the case, or the id of one of its objects.
FILLERS = {
    "reference": lambda world: world["complaint"].reference,
    "attachment_id": lambda world: world["ids"]["attachment_id"],
    "letter_id": lambda world: world["ids"]["letter_id"],
    "action_id": lambda world: world["ids"]["action_id"],
    "email_id": lambda world: world["ids"]["email_id"],
    # An outbox email (the Operations page's resend and "handled": administrators only, refused to every role).
    "message_id": lambda world: OutboundMessage.objects.values_list("pk", flat=True).first() or 987654321,
}


def staff_urls() -> list[URLPattern]:
    patterns = list(staff_patterns)
    assert all(isinstance(p, URLPattern) for p in patterns), "walk included URL lists too"
    return patterns


def url_for(pattern: URLPattern, world, *, reference: str | None = None) -> str:
    kwargs = {}
    for name in pattern.pattern.converters:
        assert name in FILLERS, (
            f"staff URL '{pattern.name}' takes <{name}>: add a filler for it to FILLERS in {__name__}, "
            "so the permission walk covers it"
        )
        kwargs[name] = FILLERS[name](world)
    if reference is not None and "reference" in kwargs:
        kwargs["reference"] = reference
    return reverse(f"staff:{pattern.name}", kwargs=kwargs)


def client_as(role: str, world) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if role == "client":
        # A client has no account: they hold the secure link to their own case.
        assert client.get(reverse("client:case", args=[links.client_token(world["complaint"])])).status_code == 200
        return client
    users = {
        "signed_in_not_staff": lambda: UserFactory(is_staff=False),
        "staff_account_without_role": lambda: UserFactory(is_staff=True),
        "manager_not_assigned": manager,
        "manager_busy_elsewhere": lambda: world["busy"],
        "director": director,
        "assigned_manager": lambda: world["owner"],
        "lead": lead,
    }
    client.force_login(users[role]())
    return client


def call(client: Client, method: str, url: str):
    return getattr(client, method)(url, {})


def normalised(response, world, reference: str) -> tuple[int, str, str]:
    """Status, Location and body with the requested reference and per-request CSRF tokens blanked."""
    body = response.content.decode() if not response.streaming else "<file>"
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', body)
    location = response.get("Location", "")
    return response.status_code, location.replace(reference, "<REF>"), body.replace(reference, "<REF>")


def assert_reveals_nothing(response, world) -> None:
    body = response.content.decode() if not response.streaming else ""
    for secret in world["secrets"]:
        assert secret not in body, f"{response.request['PATH_INFO']} reveals {secret!r}"


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_url_answers_each_role_as_it_should(role, world):
    client = client_as(role, world)
    lead_client = client_as("lead", world)
    walked = set()
    # Signing out (POST /staff/logout/) ends the session: walk the open URLs last.
    for pattern in sorted(staff_urls(), key=lambda p: p.name in OPEN_TO_ALL):
        walked.add(pattern.name)
        has_case = "reference" in pattern.pattern.converters
        for method in METHODS:
            url = url_for(pattern, world)
            response = call(client, method, url)
            where = f"{method.upper()} {url} as {role}"
            assert response.status_code < 500, where

            if pattern.name in OPEN_TO_ALL:
                continue
            if response.status_code == 405:
                # The view does not take this method at all, whoever asks: nothing to reveal.
                assert call(lead_client, method, url).status_code == 405, where
                continue
            if role in ANONYMOUS_ROLES:
                assert response.status_code == 302, where
                assert response["Location"].startswith(reverse("staff:login") + "?next="), where
                assert_reveals_nothing(response, world)
            elif role in NO_ROLE:
                assert response.status_code == 403, where
                assert_reveals_nothing(response, world)

            if not has_case:
                continue  # role access only
            if role in (*ANONYMOUS_ROLES, *NO_ROLE, *REFUSED_ROLES):
                # Refused: the same answer as for a case that does not exist.
                missing = call(client, method, url_for(pattern, world, reference=MISSING_REFERENCE))
                assert normalised(response, world, world["complaint"].reference) == normalised(
                    missing, world, MISSING_REFERENCE
                ), where
                assert_reveals_nothing(response, world)
            if role in REFUSED_ROLES:
                # 404 for the case; or 403 when the role may not use this page for any case (for example
                # a lead-only page): decided before the case is looked up, the same as for a missing one.
                assert response.status_code in (403, 404), where
            if role in ("assigned_manager", "lead") and method == "get" and pattern.name == "case":
                assert response.status_code == 200, where
    assert walked == {p.name for p in staff_patterns}


def test_the_roles_with_a_place_in_the_case_get_in(world):
    """The walk's refusals mean something: the owner and a lead do see the case and its documents."""
    complaint = world["complaint"]
    for role in ("assigned_manager", "lead"):
        client = client_as(role, world)
        assert client.get(reverse("staff:case", args=[complaint.reference])).status_code == 200
        download = reverse("staff:attachment_download", args=[complaint.reference, world["ids"]["attachment_id"]])
        assert client.get(download).status_code == 200


def test_a_manager_sees_the_unassigned_queue_but_not_other_peoples_cases(world):
    unassigned = AcknowledgedComplaintFactory()
    client = client_as("manager_not_assigned", world)
    assert client.get(reverse("staff:case", args=[unassigned.reference])).status_code == 200
    assert client.get(reverse("staff:case", args=[world["complaint"].reference])).status_code == 404


def test_the_open_list_names_real_urls():
    """An exemption for a URL that no longer exists would hide a new one with its name."""
    assert {p.name for p in staff_patterns} >= OPEN_TO_ALL


def test_every_url_parameter_has_a_filler():
    """A new staff URL with a new kind of parameter fails here, by name, before the walk runs."""
    for pattern in staff_urls():
        missing = set(pattern.pattern.converters) - set(FILLERS)
        assert not missing, f"staff URL '{pattern.name}' takes {sorted(missing)}: add fillers to FILLERS"


def test_the_appeal_log_page_is_for_complaints_leads_only(world):
    """Logging an appeal is lead work: managers, even the one assigned, get the 403 page that a missing
    case gets (decided before the case is looked up), and so does a Director, who decides appeals in the
    admin and does not log them. Nothing is saved."""
    owner = world["owner"]
    complaint = responded(owner, assignee=owner)
    url = reverse("staff:appeal_log", args=[complaint.reference])
    missing = reverse("staff:appeal_log", args=[MISSING_REFERENCE])
    expected = {"assigned_manager": 403, "manager_not_assigned": 403, "director": 403}
    for role, status in expected.items():
        client = client_as(role, world)
        for method in METHODS:
            response = call(client, method, url)
            where = f"{method.upper()} {url} as {role}"
            assert response.status_code == status, where
            assert normalised(response, world, complaint.reference) == normalised(
                call(client, method, missing), world, MISSING_REFERENCE
            ), where
            assert complaint.reference not in response.content.decode(), where
    lead_page = client_as("lead", world).get(url)
    assert lead_page.status_code == 200
    assert 'name="reasons"' in lead_page.content.decode()
    assert not Appeal.objects.exists()
