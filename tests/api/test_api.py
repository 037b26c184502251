"""The read-only API (issue 20, point 6): tokens with scopes acting as a named member of staff, the staff pages'
visibility, pages read in a fixed number of queries, every call in the audit trail, a valid OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api import services
from api.models import ApiToken
from api.views import Pages
from audit.models import AuditEntry
from cases import business_days
from cases.models import Action, Complaint
from reports import selectors as report_selectors
from tests.factories import (
    AcknowledgedComplaintFactory,
    ComplaintEventFactory,
    UserFactory,
    business_days_from_today,
    director,
    lead,
    manager,
)

pytestmark = pytest.mark.django_db

CASES = reverse("api:cases")
EVENTS = reverse("api:events")
ACTIONS = reverse("api:actions")
FIGURES = reverse("api:report_figures")
ALL_SCOPES = ["cases:read", "personal_data:read", "reports:read"]
MISSING_REFERENCE = "JPD-2026-99999-Z"


def case_url(reference: str) -> str:
    return reverse("api:case", args=[reference])


def issue(user, scopes=("cases:read",), *, name=None, days=30) -> str:
    """A token for ``user``: its key."""
    administrator = UserFactory(username="administrator", is_superuser=True)
    _, key = services.token_issue(
        name=name or f"system for {user.username} {ApiToken.objects.count()}",
        user=user,
        scopes=list(scopes),
        expires_at=timezone.now() + timedelta(days=days),
        issued_by=administrator,
    )
    return key


def call(client, url: str, key: str | None, **params):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.get(url, params, **headers)


def references(response) -> list[str]:
    return [case["reference"] for case in response.json()["results"]]


@pytest.fixture
def team():
    """Case ``mine`` is the manager's, ``queue`` is unassigned, ``theirs`` belongs to another manager."""
    worker, other = manager(), manager()
    cases = {
        "mine": AcknowledgedComplaintFactory(assignee=worker, name="Zebedee Quixote", email="zeb@example.org"),
        "queue": AcknowledgedComplaintFactory(),
        "theirs": AcknowledgedComplaintFactory(assignee=other),
    }
    for complaint in cases.values():
        ComplaintEventFactory(complaint=complaint, summary="You asked us for: large print")
        Action.objects.create(
            complaint=complaint,
            kind=Action.Kind.PUT_RIGHT,
            description=f"Refund {complaint.name}",
            owner=complaint.assignee or other,
            due_date=business_days_from_today(5),
        )
    return worker, cases


# --- who gets in ---------------------------------------------------------------------------------


def test_a_call_without_a_valid_token_is_refused_401_and_not_answered(client, team):
    worker, _ = team
    revoked, expired = issue(worker), issue(worker)
    administrator = UserFactory(username="administrator", is_superuser=True)
    services.token_revoke(token=ApiToken.objects.get(key_hash=services.key_hash(revoked)), revoked_by=administrator)
    ApiToken.objects.filter(key_hash=services.key_hash(expired)).update(expires_at=timezone.now())

    for key, detail in [
        (None, "Authentication credentials were not provided."),
        ("jpdit_not-a-key", "Invalid token."),
        (revoked, "This token was revoked."),
        (expired, "This token has expired."),
    ]:
        response = call(client, CASES, key)
        assert response.status_code == 401, key
        assert response.json() == {"detail": detail}
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert client.get(CASES, HTTP_AUTHORIZATION="Bearer two words").status_code == 401
    # A staff session is not a way in: the API is for other systems.
    client.force_login(worker)
    assert client.get(CASES).status_code == 401
    assert not AuditEntry.objects.exists()  # nobody to record (the refusals are logged)


def test_a_token_of_a_user_switched_off_or_without_a_role_any_more_is_refused(client, team):
    worker, _ = team
    key = issue(worker)
    assert call(client, CASES, key).status_code == 200

    worker.groups.remove(Group.objects.get(name="Managers"))
    assert call(client, CASES, key).status_code == 403
    worker.is_active = False
    worker.save()
    assert call(client, CASES, key).status_code == 401


def test_each_view_needs_its_scope_and_the_figures_the_reports_role(client, team):
    worker, cases = team
    figures_only = issue(lead(), ["reports:read"])
    assert call(client, CASES, figures_only).status_code == 403
    assert call(client, case_url(cases["mine"].reference), figures_only).status_code == 403
    assert call(client, FIGURES, figures_only).status_code == 200
    assert call(client, FIGURES, issue(worker, ALL_SCOPES)).status_code == 403  # a manager reads no reports
    assert call(client, FIGURES, issue(director(), ["reports:read"])).status_code == 200
    response = call(client, FIGURES, issue(lead(), ["cases:read"]))
    assert response.status_code == 403
    assert response.json() == {"detail": "This token does not have the reports:read scope."}


def test_the_api_reads_only(client, team):
    key = issue(team[0])
    response = client.post(CASES, {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 405


# --- the staff pages' visibility ----------------------------------------------------------------------


def test_a_managers_token_sees_what_the_manager_sees_and_no_more(client, team):
    worker, cases = team
    key = issue(worker)

    assert sorted(references(call(client, CASES, key))) == sorted([cases["mine"].reference, cases["queue"].reference])
    assert call(client, case_url(cases["mine"].reference), key).json()["reference"] == cases["mine"].reference
    # Another manager's case answers exactly as a case that does not exist.
    theirs = call(client, case_url(cases["theirs"].reference), key)
    missing = call(client, case_url(MISSING_REFERENCE), key)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert call(client, EVENTS, key, case=cases["theirs"].reference).status_code == 404
    assert call(client, ACTIONS, key, case=cases["theirs"].reference).status_code == 404
    assert {event["case"] for event in call(client, EVENTS, key).json()["results"]} == {
        cases["mine"].reference,
        cases["queue"].reference,
    }
    # The actions page's rule: theirs and those on the cases they may pick up.
    assert {action["case"] for action in call(client, ACTIONS, key).json()["results"]} == {
        cases["mine"].reference,
        cases["queue"].reference,
    }


@pytest.mark.usefixtures("team")
def test_a_leads_token_sees_every_case_and_a_directors_none(client):
    assert len(references(call(client, CASES, issue(lead())))) == 3
    assert references(call(client, CASES, issue(director()))) == []


def test_filters_are_checked_and_applied(client, team):
    _, cases = team
    key = issue(lead())
    assert call(client, CASES, key, status="nonsense").status_code == 400
    assert call(client, CASES, key, status="closed").json()["results"] == []
    later = (timezone.now() + timedelta(days=1)).isoformat()
    assert call(client, CASES, key, updated_since=later).json()["results"] == []
    assert call(client, EVENTS, key, since="yesterday").status_code == 400
    events = call(client, EVENTS, key, case=cases["queue"].reference.lower()).json()["results"]
    assert [event["case"] for event in events] == [cases["queue"].reference]
    assert call(client, ACTIONS, key, open="false").json()["results"] == []


# --- personal data --------------------------------------------------------------------------------------


def test_personal_data_only_with_its_scope(client, team):
    worker, cases = team
    mine = cases["mine"]
    plain, personal = issue(worker), issue(worker, ["cases:read", "personal_data:read"])

    case = call(client, case_url(mine.reference), plain)
    events = call(client, EVENTS, plain, case=mine.reference)
    actions = call(client, ACTIONS, plain, case=mine.reference)
    for response in (case, events, actions):
        text = response.content.decode()
        assert "Zebedee" not in text
        assert "zeb@example.org" not in text
        assert "large print" not in text
        assert mine.description[:20] not in text
    assert case.json()["client"] is None
    assert events.json()["results"][0]["summary"] is None
    assert actions.json()["results"][0]["description"] is None

    case = call(client, case_url(mine.reference), personal).json()
    assert case["client"] == {"name": "Zebedee Quixote", "email": "zeb@example.org", "phone": mine.phone,
                              "organisation": mine.organisation}  # fmt: skip
    assert mine.description[:20] not in str(case)  # never, whatever the scope
    assert call(client, EVENTS, personal, case=mine.reference).json()["results"][0]["summary"] == (
        "The client asked us for: large print"
    )
    assert call(client, ACTIONS, personal, case=mine.reference).json()["results"][0]["description"] == (
        "Refund Zebedee Quixote"
    )


def test_a_case_says_its_deadlines_people_and_appeal(client, appeal_factory):
    appeal = appeal_factory()
    complaint = appeal.complaint
    body = call(client, case_url(complaint.reference), issue(lead())).json()
    assert body["id"] == str(complaint.public_id)
    assert body["status"] == "under_appeal"
    assert body["acknowledgement_due"] == complaint.acknowledgement_due.isoformat()
    assert body["appeal"]["status"] == "received"
    assert body["appeal"]["decision"] is None
    assert body["outcome"] is None
    assert body["assignee"] is None
    assert body["anonymised"] is False


# --- pages and queries ----------------------------------------------------------------------------------


def test_lists_come_in_pages_of_at_most_the_largest_size(client, monkeypatch):
    key = issue(lead())
    for _ in range(5):
        AcknowledgedComplaintFactory()
    first = call(client, CASES, key, page_size=2).json()
    second = client.get(first["next"], HTTP_AUTHORIZATION=f"Bearer {key}").json()
    third = client.get(second["next"], HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert [len(page["results"]) for page in (first, second, third)] == [2, 2, 1]
    assert third["next"] is None
    seen = [case["reference"] for page in (first, second, third) for case in page["results"]]
    assert len(set(seen)) == 5
    assert Pages.max_page_size == 100  # API_MAX_PAGE_SIZE
    monkeypatch.setattr(Pages, "max_page_size", 3)
    assert len(call(client, CASES, key, page_size=1000).json()["results"]) == 3


@pytest.mark.parametrize("url", [CASES, EVENTS, ACTIONS])
def test_a_page_costs_the_same_queries_whatever_its_size(client, url, appeal_factory, django_assert_num_queries):
    key = issue(lead(), ALL_SCOPES)
    owner = manager()
    for n in range(12):
        complaint = appeal_factory().complaint if n % 3 == 0 else AcknowledgedComplaintFactory(assignee=owner)
        ComplaintEventFactory(complaint=complaint)
        Action.objects.create(
            complaint=complaint, kind="put_right", description="Refund.", owner=owner, due_date=complaint.outcome_due
        )
    call(client, url, key)  # the token's "last used" is written now, not again within the minute

    for size in (2, 10):
        # The token with its user, the user's permissions, the page, the audit entries (one INSERT, in a savepoint).
        with django_assert_num_queries(6):
            response = call(client, url, key, page_size=size)
        assert len(response.json()["results"]) == size


# --- the audit trail ------------------------------------------------------------------------------------


def test_every_call_is_in_the_audit_trail_with_the_token_and_its_user(client, team):
    worker, cases = team
    key = issue(worker, name="The CRM")
    prefix = ApiToken.objects.get().key_prefix

    call(client, CASES, key)
    listed = AuditEntry.objects.order_by("pk")
    assert sorted(entry.reference for entry in listed) == sorted([cases["mine"].reference, cases["queue"].reference])
    entry = listed.first()
    assert entry.user == worker
    assert entry.username == worker.username
    assert entry.action == AuditEntry.Action.VIEW
    assert entry.description == f'API, token "The CRM" ({prefix}…): listed cases'
    assert entry.path == CASES
    assert entry.status_code == 200
    assert prefix in entry.description
    assert key not in entry.description

    before = AuditEntry.objects.count()
    call(client, case_url(cases["theirs"].reference), key)
    refused = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == before + 1
    assert refused.status_code == 404
    assert refused.complaint is None  # a case the user may not see is not named
    call(client, EVENTS, key, case=cases["mine"].reference)
    assert AuditEntry.objects.order_by("-pk").first().complaint == cases["mine"]


def test_a_token_is_throttled_and_the_refusal_recorded(client, team, settings):
    settings.API_THROTTLE_RATE = "2/minute"
    key = issue(team[0])
    assert [call(client, CASES, key).status_code for _ in range(3)] == [200, 200, 429]
    assert AuditEntry.objects.order_by("-pk").first().status_code == 429
    assert call(client, CASES, issue(lead())).status_code == 200  # another token has its own count


def test_last_used_is_written_at_most_once_a_minute(client, team):
    key = issue(team[0])
    token = ApiToken.objects.get()
    assert token.last_used_at is None
    call(client, CASES, key)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    call(client, CASES, key)
    token.refresh_from_db()
    assert token.last_used_at == first


# --- the report figures --------------------------------------------------------------------------------


def test_the_figures_are_the_reports_pages(client, team):
    key = issue(lead(), ["reports:read"])
    year = business_days.london_today().year
    body = call(client, FIGURES, key, period="year", year=year).json()
    period = report_selectors.Period.year(year)
    figures = report_selectors.report(period, report_selectors.Filters())
    assert body["period"] == {"first": f"{year}-01-01", "last": f"{year}-12-31"}
    assert body["received"] == figures.received == 3
    assert {row["value"]: row["count"] for row in body["by_channel"]}["web"] == 3
    assert body["acknowledgement"]["on_time"] == figures.acknowledgement.on_time
    assert set(body["medians"]) == set(figures.medians)
    bad = call(client, FIGURES, key, period="custom")
    assert bad.status_code == 400
    assert bad.json() == {"non_field_errors": ["Give both dates of a custom period."]}


# --- the schema ------------------------------------------------------------------------------------------


def test_the_openapi_schema_is_valid_and_served_to_anyone(client, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = yaml.safe_load(client.get(reverse("api:schema")).content)
    assert set(schema["paths"]) == {
        "/api/v1/cases/",
        "/api/v1/cases/{reference}/",
        "/api/v1/events/",
        "/api/v1/actions/",
        "/api/v1/reports/figures/",
    }
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    assert client.get(reverse("api:schema"), {"format": "json"})["Content-Type"].startswith(
        "application/vnd.oai.openapi+json"
    )


# --- the administrator's tokens -----------------------------------------------------------------------------


def test_only_the_keys_hash_is_kept_and_the_admin_shows_the_key_once(client):
    administrator = UserFactory(is_superuser=True)
    worker = manager()
    client.force_login(administrator)
    expires = (timezone.localtime() + timedelta(days=90)).replace(microsecond=0)
    response = client.post(
        reverse("admin:api_apitoken_add"),
        {
            "name": "The CRM",
            "user": worker.pk,
            "scopes": ["cases:read"],
            "expires_at_0": expires.strftime("%d/%m/%Y"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    key = response.context["key"]
    token = ApiToken.objects.get()
    assert token.user == worker
    assert token.created_by == administrator
    assert token.key_hash == services.key_hash(key)
    assert key not in str(ApiToken.objects.values().get())  # the key itself is nowhere
    assert key.startswith(token.key_prefix)
    assert call(client, CASES, key).status_code == 200
    page = client.get(reverse("admin:api_apitoken_change", args=[token.pk])).content.decode()
    assert key not in page
    assert token.key_prefix in page

    client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert call(client, CASES, key).status_code == 401


def test_a_token_needs_an_administrator_a_member_of_staff_a_scope_and_an_end():
    administrator = UserFactory(is_superuser=True)
    expires = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError, match="role in the complaints team"):
        services.token_issue(
            name="x", user=UserFactory(), scopes=["cases:read"], expires_at=expires, issued_by=administrator
        )
    problems = services.token_problems(user=lead(), scopes=["personal_data:read"], expires_at=None, now=timezone.now())
    assert set(problems) == {"scopes", "expires_at"}
    with pytest.raises(PermissionDenied, match="administrator"):
        services.token_issue(name="x", user=lead(), scopes=["cases:read"], expires_at=expires, issued_by=lead())
    assert not ApiToken.objects.exists()


@pytest.mark.postgres
def test_postgres_reads_only_the_cases_changed_since_the_moment_asked(client):
    """A system polling ``updated_since`` every few minutes must not read every case each time (migration 0025)."""
    cases = AcknowledgedComplaintFactory.create_batch(60)
    a_year_ago = timezone.now() - timedelta(days=365)
    Complaint.objects.exclude(pk__in=[cases[0].pk, cases[1].pk]).update(updated_at=a_year_ago)
    since = timezone.now() - timedelta(days=1)
    with CaptureQueriesContext(connection) as queries:
        response = call(client, CASES, issue(lead()), updated_since=since.isoformat())
    assert set(references(response)) == {cases[0].reference, cases[1].reference}
    sql = next(query["sql"] for query in queries.captured_queries if '"updated_at" >=' in query["sql"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_complaint")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "complaint_updated" in plan
    assert "Seq Scan on cases_complaint" not in plan
