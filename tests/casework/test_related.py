"""Related complaints on the staff case page (issue 20, point 4): linked both ways, listed with the main case of a
merged duplicate, the duplicates merged into it and the client's other complaints (by email address or
organisation), only as far as the user may see; merging from the page. None of it depends on the day."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import selectors, services
from cases.models import Complaint, ComplaintEvent, RelatedComplaint
from tests.factories import AcknowledgedComplaintFactory, lead, manager

pytestmark = pytest.mark.django_db
Status = Complaint.Status


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def page(client, case):
    return client.get(reverse("staff:case", args=[case.reference]))


def post(client, name, case, **fields):
    case.refresh_from_db()
    prefix = {"case_link_related": "related", "case_unlink_related": "unlink", "case_merge": "merge"}[name]
    data = {f"{prefix}-expected_revision": case.revision, **{f"{prefix}-{k}": v for k, v in fields.items()}}
    return client.post(reverse(f"staff:{name}", args=[case.reference]), data)


def listed(client, case) -> dict[str, str]:
    """Reference -> why, as the page's list of other complaints has them."""
    others = page(client, case).context["others"]
    return {other.reference: other.why for other in others.listed}


def test_staff_link_two_complaints_both_list_each_other_and_both_timelines_say_who(client):
    worker = manager(first_name="Maya", last_name="Manager")
    mine = AcknowledgedComplaintFactory(assignee=worker)
    other = AcknowledgedComplaintFactory()  # unassigned: the manager may see it
    client.force_login(worker)

    response = post(client, "case_link_related", mine, reference=other.reference.lower())
    assert response.status_code == 303
    assert listed(client, mine) == {other.reference: selectors.RELATED}
    assert listed(client, other) == {mine.reference: selectors.RELATED}
    for case, named in ((mine, other), (other, mine)):
        event = case.events.get(kind=ComplaintEvent.Kind.RELATED)
        assert (event.summary, event.actor, event.client_visible) == (f"Linked as related to {named}", worker, False)

    again = post(client, "case_link_related", mine, reference=other.reference)
    assert again.status_code == 400
    assert "are linked already" in text(again)
    assert post(client, "case_unlink_related", other, reference=mine.reference).status_code == 303
    assert not RelatedComplaint.objects.exists()
    assert mine.events.filter(summary=f"No longer linked to {other.reference}").exists()


def test_a_reference_the_user_may_not_see_is_refused_as_if_it_did_not_exist(client):
    worker = manager()
    mine = AcknowledgedComplaintFactory(assignee=worker)
    colleagues = AcknowledgedComplaintFactory(assignee=manager())
    client.force_login(worker)
    for reference in (colleagues.reference, "JPD-2026-99999-Z"):
        response = post(client, "case_link_related", mine, reference=reference)
        assert response.status_code == 400
        assert f"No complaint {reference} among the cases you can see" in text(response)
    assert "this complaint's own reference" in text(post(client, "case_link_related", mine, reference=mine.reference))
    assert not RelatedComplaint.objects.exists()


def test_the_clients_other_complaints_are_listed_as_far_as_the_user_may_see_them(client):
    worker = manager()
    mine = AcknowledgedComplaintFactory(assignee=worker, email="ada@example.com", organisation="Analytical Engines")
    same_email = AcknowledgedComplaintFactory(email="Ada@Example.com", organisation="")
    same_organisation = AcknowledgedComplaintFactory(email="charles@example.com", organisation="analytical engines")
    colleagues = AcknowledgedComplaintFactory(assignee=manager(), email="ada@example.com")
    AcknowledgedComplaintFactory(email="someone@example.org", organisation="Another firm")

    client.force_login(worker)
    expected = {same_email.reference: selectors.SAME_EMAIL, same_organisation.reference: selectors.SAME_ORGANISATION}
    assert listed(client, mine) == expected
    assert colleagues.reference not in page(client, mine).content.decode()

    client.force_login(lead())
    assert listed(client, mine) == {**expected, colleagues.reference: selectors.SAME_EMAIL}


def test_the_list_is_cut_at_its_limit_with_the_linked_ones_first_and_says_there_are_more(client):
    boss = lead()
    mine = AcknowledgedComplaintFactory(email="ada@example.com")
    others = AcknowledgedComplaintFactory.create_batch(selectors.OTHER_COMPLAINTS_LIMIT + 1, email="ada@example.com")
    linked = AcknowledgedComplaintFactory(email="", organisation="", received_at=mine.received_at.replace(year=2020))
    services.complaint_link_related(actor=boss, complaint=mine, reference=linked.reference)
    client.force_login(boss)
    response = page(client, mine)
    shown = response.context["others"]
    assert len(shown.listed) == selectors.OTHER_COMPLAINTS_LIMIT
    assert shown.listed[0].reference == linked.reference  # oldest, but linked: first
    assert shown.more
    assert "search the dashboard for the client's email address" in text(response)
    assert {o.reference for o in shown.listed[1:]} <= {o.reference for o in others}


def test_a_large_organisations_newest_visible_complaints_are_listed_newest_first():
    """Only the newest the list can show are read, and still only those the user may see: a manager's
    colleague's newer cases of the same organisation neither show nor take the places of the manager's own."""
    worker = manager()
    mine = AcknowledgedComplaintFactory(assignee=worker, email="", organisation="Big Client Ltd")
    start = mine.received_at
    own = [
        AcknowledgedComplaintFactory(
            assignee=worker, email="", organisation="BIG CLIENT LTD", received_at=start.replace(day=day)
        )
        for day in range(1, 14)
    ]
    colleagues = AcknowledgedComplaintFactory.create_batch(
        5, assignee=manager(), email="", organisation="Big Client Ltd", received_at=start.replace(day=20)
    )
    shown = selectors.other_complaints(user=worker, complaint=mine)
    newest_own = sorted(own, key=lambda c: (c.received_at, c.pk), reverse=True)[: selectors.OTHER_COMPLAINTS_LIMIT]
    assert [o.reference for o in shown.listed] == [c.reference for c in newest_own]
    assert shown.more
    assert not {c.reference for c in colleagues} & {o.reference for o in shown.listed}


def test_a_lead_merges_from_the_case_page_and_lands_on_the_main_complaint(client):
    boss = lead()
    main = AcknowledgedComplaintFactory(email="ada@example.com")
    duplicate = AcknowledgedComplaintFactory(email="ada@example.com")
    stranger = AcknowledgedComplaintFactory(email="grace@example.org")
    client.force_login(boss)
    assert "A duplicate of another complaint?" in text(page(client, duplicate))

    refused = post(client, "case_merge", duplicate, reference=stranger.reference)
    assert refused.status_code == 400
    assert "different clients' details. Tick the box" in text(refused)

    response = post(client, "case_merge", duplicate, reference=main.reference)
    assert response.status_code == 303
    assert response["Location"] == reverse("staff:case", args=[main.reference]) + "#related"
    landed = client.get(response["Location"])
    assert f"{duplicate.reference} is closed as merged into {main.reference}" in text(landed)
    assert listed(client, main) == {duplicate.reference: selectors.DUPLICATE}
    assert "was joined to this one" in text(landed)

    gone = page(client, duplicate)
    assert f"Merged into {main.reference}" in text(gone)
    assert listed(client, duplicate) == {main.reference: selectors.MAIN_CASE}
    assert "A duplicate of another complaint?" not in text(gone)  # merged: no second time


def test_only_a_lead_is_offered_the_merge(client):
    worker = manager()
    mine = AcknowledgedComplaintFactory(assignee=worker)
    client.force_login(worker)
    assert "A duplicate of another complaint?" not in text(page(client, mine))
    assert post(client, "case_merge", mine, reference=AcknowledgedComplaintFactory().reference).status_code == 403
    assert Complaint.objects.get(pk=mine.pk).status == Status.ACKNOWLEDGED


@pytest.mark.postgres
def test_postgres_reads_the_clients_other_complaints_through_indexes_only():
    """Each part of the list's one query is an index look-up (migration 0024): no case is read
    because it might match."""
    mine = AcknowledgedComplaintFactory(email="ada@example.com", organisation="Analytical Engines")
    AcknowledgedComplaintFactory.create_batch(3, email="ada@example.com", organisation="Analytical Engines")
    with CaptureQueriesContext(connection) as queries:
        selectors.other_complaints(user=lead(), complaint=mine)
    sql = next(query["sql"] for query in queries.captured_queries if "UNION ALL" in query["sql"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_complaint")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is cheapest to scan: may an index serve?
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The address's own index, in the list's order or not (a handful of rows to sort: the planner's choice).
    assert "complaint_email_newest" in plan or "complaint_email_prefix" in plan
    assert "complaint_organisation_newest" in plan
    assert "Seq Scan on cases_complaint" not in plan
    assert "complaint_received" not in plan  # never every case in date order, testing each


def test_a_refused_unlink_says_why_at_the_top_and_points_to_no_form_the_page_does_not_draw(client):
    worker = manager()
    mine = AcknowledgedComplaintFactory(assignee=worker)
    other = AcknowledgedComplaintFactory()
    client.force_login(worker)

    response = post(client, "case_unlink_related", mine, reference=other.reference)

    assert response.status_code == 400
    assert f"{mine.reference} and {other.reference} are not linked. Nothing was changed." in text(response)
    # Each link's own small form is drawn by the template; there is no one "unlink" form to go to.
    assert "Go to the form" not in text(response)
    assert "unlink" not in page(client, mine).context["forms"]
