"""The staff dashboard (issue 3, item 2): tabs, counts, filters, search, typo hints, pages, order, queries."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import deadlines, selectors
from cases.business_days import LONDON
from cases.models import Category, Complaint
from cases.references import check_letter, format_reference
from tests.factories import CategoryFactory, ComplaintFactory, director, lead, manager

pytestmark = pytest.mark.django_db

HOME = reverse("staff:home")
Status = Complaint.Status
# Tuesday 1 December 2026, 10:00 in London: "due soon" covers Tue 1 and Wed 2 Dec.
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make(*, status=Status.INVESTIGATING, due=None, assignee=None, **fields):
    """A case in ``status`` whose running deadline (if it has one) is ``due``."""
    fields.setdefault("received_at", NOW - dt.timedelta(days=6))
    if status == Status.RECEIVED:
        fields["acknowledgement_due"] = due or TODAY + dt.timedelta(days=1)
    else:
        fields.setdefault("acknowledgement_due", TODAY - dt.timedelta(days=3))
        fields["acknowledged_at"] = NOW - dt.timedelta(days=4)
        fields["outcome_due"] = due or TODAY + dt.timedelta(days=14)
    return ComplaintFactory(status=status, assignee=assignee, **fields)


@pytest.mark.parametrize("status", list(Status))
def test_the_running_deadline_in_sql_is_the_one_the_model_names_in_every_state(status):
    due = TODAY + dt.timedelta(days=4)
    case = make(status=status, due=due)
    annotated = Complaint.objects.with_current_due().get(pk=case.pk)
    assert annotated.current_due == case.current_due_date
    # Filtering on it (as the dashboard does) agrees: the case is due that day only while a clock runs.
    due_that_day = Complaint.objects.with_current_due().filter(current_due=due, pk=case.pk).exists()
    assert due_that_day == (status in deadlines.clock_running_statuses(deadlines.COMPLAINT_CLOCKS))


@pytest.fixture
def world():
    me, colleague, boss = manager(), manager(), lead()
    w = SimpleNamespace(me=me, colleague=colleague, boss=boss)
    w.mine_overdue = make(due=dt.date(2026, 11, 27), assignee=me)
    w.mine_due_today = make(status=Status.ACKNOWLEDGED, due=TODAY, assignee=me)
    w.mine_later = make(due=dt.date(2026, 12, 10), assignee=me)
    w.mine_waiting = make(status=Status.AWAITING_CLIENT, due=dt.date(2026, 11, 20), assignee=me)
    w.mine_closed = make(status=Status.CLOSED, due=dt.date(2026, 10, 1), assignee=me)
    w.unassigned_due_tomorrow = make(status=Status.RECEIVED, due=dt.date(2026, 12, 2))
    w.unassigned_later = make(status=Status.ACKNOWLEDGED, due=dt.date(2026, 12, 14))
    w.colleague_overdue = make(due=dt.date(2026, 11, 20), assignee=colleague, name="Colin Colleague")
    w.colleague_closed = make(status=Status.CLOSED, assignee=colleague)
    w.lead_case = make(due=dt.date(2026, 12, 2), assignee=boss)
    return w


def listed(response) -> list[str]:
    return [row.reference for row in response.context["board"].rows]


def tab_counts(response) -> dict[str, int]:
    return {tab.key: tab.count for tab in response.context["board"].tabs}


def refs(*cases) -> set[str]:
    return {c.reference for c in cases}


# --- tabs and their counts ---------------------------------------------------------------


def test_manager_tabs_show_exactly_their_cases(client, world):
    w = world
    client.force_login(w.me)
    expected = {
        "mine": refs(w.mine_overdue, w.mine_due_today, w.mine_later, w.mine_waiting),
        "unassigned": refs(w.unassigned_due_tomorrow, w.unassigned_later),
        "due_soon": refs(w.mine_due_today, w.unassigned_due_tomorrow),
        "overdue": refs(w.mine_overdue),
    }
    for tab, cases in expected.items():
        response = client.get(HOME, {"tab": tab})
        assert set(listed(response)) == cases, tab
        assert w.colleague_overdue.reference not in response.content.decode()
    assert tab_counts(response) == {tab: len(cases) for tab, cases in expected.items()}


def test_manager_has_no_all_tab_and_lands_on_my_cases(client, world):
    client.force_login(world.me)
    response = client.get(HOME, {"tab": "all"})
    assert response.context["board"].tab == "mine"
    assert "?tab=all" not in response.content.decode()
    assert response.context["board"].tab == client.get(HOME).context["board"].tab


def test_lead_tabs_show_exactly_the_right_cases(client, world):
    w = world
    client.force_login(w.boss)
    expected = {
        "mine": refs(w.lead_case),
        "unassigned": refs(w.unassigned_due_tomorrow, w.unassigned_later),
        "due_soon": refs(w.mine_due_today, w.unassigned_due_tomorrow, w.lead_case),
        "overdue": refs(w.mine_overdue, w.colleague_overdue),
        "all": refs(
            w.mine_overdue,
            w.mine_due_today,
            w.mine_later,
            w.mine_waiting,
            w.unassigned_due_tomorrow,
            w.unassigned_later,
            w.colleague_overdue,
            w.lead_case,
        ),
    }
    for tab, cases in expected.items():
        assert set(listed(client.get(HOME, {"tab": tab}))) == cases, tab
    response = client.get(HOME)
    assert response.context["board"].tab == "all"
    assert tab_counts(response) == {tab: len(cases) for tab, cases in expected.items()}


def test_tab_counts_are_shown_on_the_tabs(client, world):
    client.force_login(world.me)
    page = " ".join(client.get(HOME).content.decode().split())
    assert re.search(r"My cases <span[^>]*>4</span>", page)
    assert re.search(r"Overdue <span[^>]*text-bg-danger[^>]*>1</span>", page)


def test_tab_counts_match_each_tab_list_on_larger_data(world):
    """The counts are written in SQL; each must equal the size of its tab's list."""
    for number in range(30):
        make(
            status=[Status.RECEIVED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.AWAITING_CLIENT][number % 4],
            due=TODAY + dt.timedelta(days=number % 9 - 4),
            assignee=[None, world.me, world.colleague][number % 3],
        )
    for user in (world.me, world.boss):
        options = selectors.dashboard_options(user=user)
        counts = selectors.complaint_dashboard(user=user, filters=selectors.DashboardFilters(), options=options).tabs
        for tab in counts:
            board = selectors.complaint_dashboard(
                user=user, filters=selectors.DashboardFilters(tab=tab.key, per_page=100), options=options
            )
            assert tab.count == len(board.rows) == board.total, (user, tab.key)


def test_director_is_pointed_to_the_admin_and_shown_no_cases(client, world):
    client.force_login(director())
    response = client.get(HOME)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Appeals are handled in the administration site" in page
    assert reverse("admin:index") in page
    assert not re.search(r"JPD-\d{4}-\d{5}-[A-Z]", page)


def test_leads_keep_the_log_a_complaint_button_and_managers_do_not_get_it(client, world):
    client.force_login(world.boss)
    assert 'class="btn btn-primary btn-lg" href="/staff/complaints/new/"' in client.get(HOME).content.decode()
    client.force_login(world.me)
    assert reverse("staff:complaint_log") not in client.get(HOME).content.decode()


def test_rows_link_to_the_case_page_and_show_the_deadline_label(client, world):
    client.force_login(world.me)
    page = " ".join(client.get(HOME, {"tab": "mine"}).content.decode().split())
    assert f'href="{reverse("staff:case", args=[world.mine_overdue.reference])}"' in page
    # Due Fri 27 Nov; on Tue 1 Dec: Mon 30 Nov and Tue 1 Dec have passed.
    assert "Outcome by Fri 27 Nov 2026" in page
    assert "overdue by 2 business days" in page
    assert "due today" in page
    assert "Clock stopped: waiting for the client" in page


def test_client_text_is_escaped(client, world):
    make(assignee=world.me, name="<script>alert(1)</script>")
    client.force_login(world.me)
    page = client.get(HOME).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- filters -----------------------------------------------------------------------------


def test_all_lists_open_cases_and_the_state_filter_widens_it(client, world):
    client.force_login(world.boss)
    assert world.mine_closed.reference not in listed(client.get(HOME, {"tab": "all"}))
    closed = listed(client.get(HOME, {"tab": "all", "state": "closed"}))
    assert set(closed) == refs(world.mine_closed, world.colleague_closed)
    everything = listed(client.get(HOME, {"tab": "all", "state": "any"}))
    assert len(everything) == 10


def test_filter_by_state_assignee_channel_and_category(client, world):
    billing = CategoryFactory(name="Billing")
    phoned = make(assignee=world.colleague, channel=Complaint.Channel.PHONE, category=billing)
    make(assignee=world.colleague, channel=Complaint.Channel.PHONE)
    client.force_login(world.boss)
    assert listed(client.get(HOME, {"tab": "all", "channel": "phone", "category": billing.pk})) == [phoned.reference]
    assert set(listed(client.get(HOME, {"tab": "all", "state": "awaiting_client"}))) == refs(world.mine_waiting)
    by_colleague = set(listed(client.get(HOME, {"tab": "all", "assignee": world.colleague.pk, "state": "any"})))
    assert world.colleague_overdue.reference in by_colleague
    assert world.colleague_closed.reference in by_colleague
    assert world.mine_overdue.reference not in by_colleague
    nobody = set(listed(client.get(HOME, {"tab": "all", "assignee": "none"})))
    assert nobody == refs(world.unassigned_due_tomorrow, world.unassigned_later)


def test_filter_by_due_date_and_received_period(client, world):
    early = make(assignee=world.me, received_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=LONDON))
    late_evening = make(assignee=world.me, received_at=dt.datetime(2026, 11, 3, 23, 30, tzinfo=LONDON))
    make(assignee=world.me, received_at=dt.datetime(2026, 11, 4, 0, 30, tzinfo=LONDON))
    client.force_login(world.me)
    due = set(listed(client.get(HOME, {"tab": "mine", "due_before": "2026-12-01"})))
    assert due == refs(world.mine_overdue, world.mine_due_today)  # waiting has no running deadline
    period = {"tab": "mine", "received_from": "2026-11-02", "received_to": "2026-11-03"}
    assert set(listed(client.get(HOME, period))) == refs(early, late_evening)


def test_a_bad_filter_is_reported_and_left_out_while_the_others_apply(client, world):
    client.force_login(world.me)
    response = client.get(
        HOME,
        {"tab": "mine", "state": "nonsense", "received_from": "2026-11-30", "received_to": "2026-11-01"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Some filters could not be used" in page
    assert "The end of the period must not be before its start." in page
    assert "nonsense is not one of the available choices" in page
    assert len(listed(response)) == 4


def test_manager_cannot_filter_their_way_to_a_colleagues_cases(client, world):
    client.force_login(world.me)
    response = client.get(HOME, {"tab": "mine", "assignee": world.colleague.pk, "state": "any"})
    assert world.colleague_overdue.reference not in response.content.decode()
    assert "Assigned to:" in response.content.decode()  # the refused choice is reported
    for tab in ("mine", "unassigned", "due_soon", "overdue"):
        for state in ("any", "closed", "investigating"):
            page = client.get(HOME, {"tab": tab, "state": state}).content.decode()
            assert world.colleague_overdue.reference not in page
            assert world.colleague_closed.reference not in page


# --- search ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        ("name", "Philippa Quince", "quince"),
        ("email", "p.quince@quince-mail.test", "P.QUINCE@quince-mail.test"),
        ("email", "p.quince@quince-mail.test", "p.quince@qui"),
        ("email", "p.quince@quince-mail.test", "@quince-mail.test"),
        ("organisation", "Quince & Sons Dental", "quince & sons"),
        ("description", "The firewall rules were wiped after the upgrade.", "rules upgrade"),
    ],
)
def test_search_by_each_field(client, world, field, value, query):
    found = make(assignee=world.me, **{field: value})
    make(assignee=world.me)
    client.force_login(world.me)
    response = client.get(HOME, {"q": query})
    assert listed(response) == [found.reference]
    assert "1 case matches" in " ".join(response.content.decode().split())


def test_search_looks_through_every_state(client, world):
    closed = make(status=Status.CLOSED, assignee=world.me, name="Edwina Closed")
    client.force_login(world.me)
    assert listed(client.get(HOME, {"q": "edwina"})) == [closed.reference]
    assert listed(client.get(HOME, {"q": "edwina", "state": "open"})) == []


def test_search_by_reference_finds_the_case_typed_loosely(client, world):
    client.force_login(world.me)
    typed = world.mine_later.reference.lower().replace("-", " ")
    response = client.get(HOME, {"q": typed})
    assert listed(response) == [world.mine_later.reference]
    assert f"Case {world.mine_later.reference}." in response.content.decode()


def test_search_by_part_of_a_reference(client, world):
    client.force_login(world.me)
    digits = world.mine_later.reference.split("-")[2]
    assert listed(client.get(HOME, {"q": digits})) == [world.mine_later.reference]


def test_words_shorter_than_three_characters_are_left_out(client, world):
    client.force_login(world.me)
    page = " ".join(client.get(HOME, {"q": "a b"}).content.decode().split())
    assert "Type at least 3 letters or digits to search." in page


def test_manager_finds_a_full_name_in_own_and_unassigned_cases_only(client, world):
    def person(name, **fields):
        # Fixed details: a made-up organisation or email could hold "Patel" or "Priya" too.
        plain = {"email": "client@example.test", "organisation": "", "description": "A late visit."}
        return make(name=name, **{**plain, **fields})

    own = person("Priya Patel", assignee=world.me)
    unassigned = person("Priya Patel", organisation="Patel Holdings")
    person("Priya Patel", assignee=world.colleague)
    person("Priya Shah", assignee=world.me)
    person("Anil Patel", assignee=world.me)
    client.force_login(world.me)
    assert set(listed(client.get(HOME, {"q": "Priya Patel"}))) == refs(own, unassigned)
    assert set(listed(client.get(HOME, {"q": "patel priya"}))) == refs(own, unassigned)


def test_search_words_may_sit_in_different_fields_but_one_word_never_spans_two(client, world):
    case = make(
        assignee=world.me,
        name="Orla Byrne",
        organisation="Byrne Plumbing",
        email="orla@example.test",
        description="A late visit.",
    )
    client.force_login(world.me)
    assert listed(client.get(HOME, {"q": "orla plumbing"})) == [case.reference]
    # "Byrne" ends the name and "orla@" starts the email: no word is made of their meeting.
    assert listed(client.get(HOME, {"q": "byrneorla"})) == []
    assert listed(client.get(HOME, {"q": "plumbingorla"})) == []


def test_manager_never_finds_a_colleagues_case_by_search(client, world):
    client.force_login(world.me)
    reference = world.colleague_overdue.reference
    for query in ("Colin Colleague", reference, reference[:-1] + ("A" if reference[-1] != "A" else "B")):
        response = client.get(HOME, {"q": query})
        # A mistyped reference may suggest the manager's own cases, never the colleague's.
        assert reference not in listed(response)
        assert f"Did you mean {reference}" not in response.content.decode()
    page = client.get(HOME, {"q": reference}).content.decode()
    assert f"No case {reference} among the cases you can see." in page


# --- mistyped references -----------------------------------------------------------------


def _case_numbered(sequence: int, **fields):
    return make(reference=format_reference(2026, sequence), **fields)


def _other_letter(year: int, sequence: int) -> str:
    right = check_letter(year, sequence)
    return "X" if right != "X" else "Y"


def test_a_wrong_check_letter_suggests_the_right_reference(client, world):
    case = _case_numbered(42, assignee=world.me)
    wrong = f"JPD-2026-00042-{_other_letter(2026, 42)}"
    client.force_login(world.me)
    response = client.get(HOME, {"q": wrong})
    page = " ".join(response.content.decode().split())
    assert f"No case {wrong}. Did you mean" in page
    assert f'<a class="alert-link text-nowrap" href="/staff/complaints/{case.reference}/">{case.reference}</a>?' in page
    assert listed(response) == [case.reference]


def test_one_wrong_digit_suggests_the_reference(client, world):
    case = _case_numbered(4271, assignee=world.me)
    typo = case.reference.replace("-04271-", "-04281-")
    client.force_login(world.me)
    response = client.get(HOME, {"q": typo})
    assert response.context["board"].reference_search.message == f"No case {typo}. Did you mean {case.reference}?"


def test_two_swapped_neighbours_suggest_the_reference(client, world):
    case = _case_numbered(4271, assignee=world.me)
    typo = case.reference.replace("-04271-", "-04721-")
    client.force_login(world.me)
    response = client.get(HOME, {"q": typo})
    assert response.context["board"].reference_search.suggestions == [case.reference]


def test_no_suggestion_when_nothing_one_slip_away_exists(client, world):
    client.force_login(world.me)
    typo = f"JPD-2026-77777-{_other_letter(2026, 77777)}"
    page = client.get(HOME, {"q": typo}).content.decode()
    assert f"No case {typo} among the cases you can see." in page
    assert "its last letter does not match its digits" in page


def test_candidates_cover_letter_digit_and_swap_slips():
    right = format_reference(2026, 4271)
    _canonical, candidates = selectors.reference_candidates(right[:-1] + _other_letter(2026, 4271))
    assert right in candidates
    assert selectors.reference_candidates(right) == (right, [])
    assert selectors.reference_candidates("Patel") == (None, [])
    _canonical, from_digit = selectors.reference_candidates(right.replace("-04271-", "-04281-"))
    assert right in from_digit
    assert all(selectors.references.is_valid_reference(c) for c in from_digit)


def test_suggestions_are_looked_up_in_one_query(world):
    _case_numbered(4271, assignee=world.me)
    options = selectors.dashboard_options(user=world.me)
    filters = selectors.DashboardFilters(q="JPD-2026-04721-" + check_letter(2026, 4271))
    selectors.complaint_dashboard(user=world.me, filters=filters, options=options)  # warm role caches
    with CaptureQueriesContext(connection) as queries:
        selectors.complaint_dashboard(user=world.me, filters=filters, options=options)
    lookups = [q["sql"] for q in queries.captured_queries if "IN (" in q["sql"] and "reference" in q["sql"]]
    assert len(lookups) == 1
    assert len(queries.captured_queries) == 2  # the tab counts and that one look-up


# --- order and pages ---------------------------------------------------------------------


def test_sorted_by_running_deadline_overdue_first_and_no_deadline_last(client, world):
    client.force_login(world.boss)
    order = listed(client.get(HOME, {"tab": "all"}))
    assert order[:2] == [world.colleague_overdue.reference, world.mine_overdue.reference]
    assert order[-1] == world.mine_waiting.reference  # clock stopped: no running deadline
    dues = [c.current_due_date for c in Complaint.objects.filter(reference__in=order[:-1])]
    assert len(dues) == 7


def test_due_date_order_of_finished_cases_is_newest_first(client, world):
    older = make(status=Status.CLOSED, assignee=world.me, received_at=NOW - dt.timedelta(days=40))
    newer = make(status=Status.CLOSED, assignee=world.me, received_at=NOW - dt.timedelta(days=20))
    client.force_login(world.me)
    order = listed(client.get(HOME, {"tab": "mine", "state": "closed"}))
    assert order == [world.mine_closed.reference, newer.reference, older.reference]  # received 6, 20, 40 days ago


def test_other_sorts(client, world):
    newest = make(assignee=world.me, received_at=NOW - dt.timedelta(hours=1))
    client.force_login(world.me)
    assert listed(client.get(HOME, {"tab": "mine", "sort": "received"}))[0] == newest.reference
    by_reference = listed(client.get(HOME, {"tab": "mine", "sort": "reference"}))
    assert by_reference == sorted(by_reference)


def test_pages_of_the_chosen_size_cover_every_case_once(client, world):
    for _ in range(19):
        make(assignee=world.me)
    client.force_login(world.me)
    seen = []
    for page in (1, 2, 3):
        response = client.get(HOME, {"tab": "mine", "per_page": 10, "page": page})
        seen += listed(response)
    assert len(seen) == len(set(seen)) == 23
    board = response.context["board"]
    assert (board.page, board.num_pages, board.has_next, board.has_previous) == (3, 3, False, True)
    page = response.content.decode()
    assert 'rel="prev"' in page
    assert "page=2" in page
    assert "Showing 21&ndash;23." in page
    # Past the end: the last page.
    assert client.get(HOME, {"tab": "mine", "per_page": 10, "page": 99}).context["board"].page == 3


def test_search_pages_need_no_count(client, world):
    for number in range(12):
        make(assignee=world.me, organisation=f"Widget Works {number}")
    client.force_login(world.me)
    first = client.get(HOME, {"q": "widget", "per_page": 10})
    board = first.context["board"]
    assert (len(board.rows), board.has_next, board.counted) == (10, True, False)
    second = client.get(HOME, {"q": "widget", "per_page": 10, "page": 2}).context["board"]
    assert (len(second.rows), second.has_next, second.total) == (2, False, 12)
    assert not set(listed(first)) & {row.reference for row in second.rows}


def test_filtered_count_is_capped(client, world, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    for _ in range(6):
        make(assignee=world.me, channel=Complaint.Channel.LETTER)
    client.force_login(world.me)
    response = client.get(HOME, {"tab": "mine", "channel": "letter", "per_page": 10})
    board = response.context["board"]
    assert (board.total, board.total_capped) == (5, True)
    assert "More than 5 cases" in response.content.decode()


# --- a fixed number of queries -------------------------------------------------------------

SCENARIOS = [
    ("lead", {}),
    ("lead", {"tab": "mine"}),
    ("lead", {"tab": "unassigned"}),
    ("lead", {"tab": "due_soon"}),
    ("lead", {"tab": "overdue"}),
    ("lead", {"tab": "all", "state": "any", "channel": "web"}),
    ("lead", {"q": "firewall"}),
    ("lead", {"q": "Quentin"}),
    ("manager", {"tab": "mine"}),
    ("manager", {"tab": "unassigned", "due_before": "2026-12-31", "received_from": "2026-01-01"}),
    ("manager", {"q": "firewall"}),
    ("manager", {"q": "JPD-2026-00042-X"}),
    ("manager", {"q": format_reference(2026, 90001)}),
]


@pytest.fixture
def crowd(world):
    """Over a hundred cases of every kind, so that a page of 100 is full."""
    states = [Status.RECEIVED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.AWAITING_CLIENT, Status.CLOSED]
    category = CategoryFactory(name="Billing")
    for number in range(240):
        make(
            status=states[number % 5],
            due=TODAY + dt.timedelta(days=number % 11 - 5),
            assignee=[None, world.me, world.colleague, world.boss][number % 4],
            description="The firewall change took our email down.",
            name=f"Quentin Number{number}",
            category=category if number % 2 else None,
        )
    return world


@pytest.mark.parametrize(("who", "query"), SCENARIOS)
def test_queries_are_few_and_do_not_grow_with_the_page_size(client, crowd, who, query):
    client.force_login(crowd.boss if who == "lead" else crowd.me)
    with CaptureQueriesContext(connection) as cold:
        assert client.get(HOME, {**query, "per_page": 10}).status_code == 200
    assert len(cold) <= 11
    counts = []
    for per_page in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(HOME, {**query, "per_page": per_page})
        counts.append(len(queries))
        if not response.context["board"].reference_search:
            assert len(listed(response)) >= 10  # the page really holds rows
    assert counts[0] == counts[1] <= 11, counts


def test_page_of_100_rows_really_has_100_rows(client, crowd):
    client.force_login(crowd.boss)
    assert len(listed(client.get(HOME, {"q": "firewall", "per_page": 100}))) == 100


def test_health_check_answers_ok_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("staff:healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


# --- PostgreSQL: the indexes of migration 0005 match what the ORM writes ------------------------


def _plan(sql: str, *, bitmaps: bool = True) -> str:
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # Statistics, as autovacuum keeps them: without them the plan depended on what ran before.
        cursor.execute("ANALYZE cases_complaint")
        # A tiny test table is cheapest to scan: forbid that, to see whether the index CAN serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        if not bitmaps:
            # At 240 cases half the table is the manager's or nobody's: a bitmap of them is cheapest here.
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_postgres_reference_icontains_uses_its_trigram_index(crowd):
    """The admin searches by reference."""
    with CaptureQueriesContext(connection) as queries:
        list(Complaint.objects.filter(reference__icontains="2026-001").order_by().values("pk"))
    assert "complaint_reference_trgm" in _plan(queries.captured_queries[-1]["sql"])


@pytest.mark.postgres
def test_postgres_email_search_is_a_prefix_of_the_email_index(crowd):
    with CaptureQueriesContext(connection) as queries:
        list(Complaint.objects.filter(email__istartswith="quentin@exam").order_by().values("pk"))
    assert "complaint_email_prefix" in _plan(queries.captured_queries[-1]["sql"])


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"state": "any"}, "complaint_current_due_order"),
        # Several words in every state: the cases holding them, in the order of every case.
        ({"q": "quentin firewall", "state": "any"}, "complaint_current_due_order"),
        ({"tab": "overdue"}, "complaint_current_due_order"),
        ({"tab": "all"}, "complaint_open_due_order"),
    ],
)
def test_postgres_default_order_is_read_from_an_order_index(crowd, query, index):
    options = selectors.dashboard_options(user=crowd.boss)
    with CaptureQueriesContext(connection) as queries:
        selectors.complaint_dashboard(user=crowd.boss, filters=selectors.DashboardFilters(**query), options=options)
    assert index in _plan(queries.captured_queries[-1]["sql"])


@pytest.mark.postgres
def test_postgres_a_category_filter_reads_the_open_cases_of_that_category_only(crowd):
    category = Category.objects.get(name="Billing")
    options = selectors.dashboard_options(user=crowd.boss)
    filters = selectors.DashboardFilters(tab="all", channel="phone", category=category.pk)
    with CaptureQueriesContext(connection) as queries:
        selectors.complaint_dashboard(user=crowd.boss, filters=filters, options=options)
    # The filtered count, a query of its own since the restructure (the rows' plan at 240 cases
    # walks the order index; at 100,000 it reads this index too: bench/README.md).
    counts = next(query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT COUNT(*)"))
    assert "complaint_open_category" in _plan(counts, bitmaps=False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_tab_counts_are_read_from_the_open_cases_index_alone(crowd):
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_counts(user=crowd.me, today=TODAY, horizon=dt.date(2026, 12, 2))
    with connection.cursor() as cursor:
        # As autovacuum leaves a table: the visibility map set, so an index alone can answer.
        cursor.execute("VACUUM ANALYZE cases_complaint")
    plan = _plan(queries.captured_queries[-1]["sql"], bitmaps=False)
    assert "Index Only Scan using complaint_open_counts" in plan


# --- the filter panel -------------------------------------------------------------------------


def test_filter_menus_show_the_chosen_values_escaped_and_each_error_by_its_field(client, world):
    odd = CategoryFactory(name='Fees <"extra"> & more')
    client.force_login(world.boss)
    page = client.get(HOME, {"channel": "phone", "category": odd.pk, "received_from": "not a date"}).content.decode()
    assert '<option value="phone" selected>Phone</option>' in page
    assert f'<option value="{odd.pk}" selected>Fees &lt;&quot;extra&quot;&gt; &amp; more</option>' in page
    assert '<option value="" selected>Open (default)</option>' in page
    assert '<option value="due" selected>Due date (soonest first)</option>' in page  # the defaults show chosen
    assert '<option value="25" selected>25</option>' in page
    assert re.search(
        r'<input type="date" name="received_from" id="id_received_from" value="not a date"'
        r' class="form-control form-control-sm is-invalid" aria-describedby="id_received_from-error">',
        page,
    )
    assert '<div class="invalid-feedback d-block" id="id_received_from-error">Enter a valid date.</div>' in page
    assert 'id="id_due_before" value="" class="form-control form-control-sm">' in page  # no error, no mark
    assert '<label class="form-label small fw-semibold mb-1" for="id_assignee">Assigned to</label>' in page


def test_rows_name_the_assignee_and_category_even_when_the_menus_do_not_list_them(client, world):
    """A case still assigned to someone who has left, and a category added while the menus were cached."""
    client.force_login(world.boss)
    client.get(HOME)  # the menus are now cached (staff who work cases, categories)
    leaver = manager(first_name="Lorna", last_name="Leaver", is_active=False)
    fresh_category = CategoryFactory(name="Brand new category")
    case = make(assignee=leaver, category=fresh_category, name="Olive Orphan")
    page = " ".join(client.get(HOME, {"q": "Olive Orphan"}).content.decode().split())
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", page) if case.reference in r)
    assert "Lorna Leaver" in row
    assert "Brand new category" in row


# --- what the speed work kept (counts in one query, tabs and page links drawn in Python) --------


def _board(user, **filters):
    options = selectors.dashboard_options(user=user)
    return selectors.complaint_dashboard(user=user, filters=selectors.DashboardFilters(**filters), options=options)


def test_a_filtered_list_costs_one_count_query_beside_the_tabs_and_the_rows(world):
    for _ in range(3):
        make(assignee=world.me, channel=Complaint.Channel.LETTER)
    _board(world.me, tab="mine", channel="letter")  # warm the role caches and the menus
    with CaptureQueriesContext(connection) as queries:
        board = _board(world.me, tab="mine", channel="letter")
    assert len(queries) == 3  # the tab counts, the filtered list's capped count, then the rows
    assert board.total == 3
    assert {tab.key: tab.count for tab in board.tabs}["mine"] == 4 + 3  # the tab still counts every open case


def test_the_filtered_count_is_capped_and_the_newest_first_count_is_exact(world, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(3):
        make(assignee=world.me, channel=Complaint.Channel.LETTER)
    capped = _board(world.me, tab="mine", channel="letter")
    assert (capped.total, capped.total_capped) == (2, True)
    closed = _board(world.boss, tab="all", state=Status.CLOSED)  # newest first: counted in that order
    assert (closed.total, closed.total_capped, len(closed.rows)) == (2, False, 2)


def test_a_filter_matching_nothing_counts_zero_beside_the_tab_counts(world):
    board = _board(world.boss, tab="all", channel="letter", category=CategoryFactory().pk)
    assert (board.total, board.rows) == (0, [])
    assert {tab.key: tab.count for tab in board.tabs}["all"] == 8


def test_my_cases_and_unassigned_list_exactly_the_same_cases_with_the_visibility_rule_left_implicit(world):
    # A manager's Unassigned and My cases tabs skip the visibility clause (see _tab_within_sight):
    # compare them, with a filter, against the visible cases filtered by hand.
    visible = set(Complaint.objects.visible_to(world.me).values_list("reference", flat=True))
    for tab, mine in (("mine", True), ("unassigned", False)):
        for state in ("", "any", Status.CLOSED):
            board = _board(world.me, tab=tab, state=state, per_page=100)
            expected = {
                c.reference
                for c in Complaint.objects.filter(assignee=world.me if mine else None)
                if (c.status in Complaint.OPEN_STATUSES if not state else state == "any" or c.status == state)
            }
            got = {row.reference for row in board.rows}
            assert got == expected, (tab, state)
            assert got <= visible


def test_tabs_outside_sight_keep_the_visibility_clause(world):
    assert selectors._tab_within_sight(selectors.TAB_UNASSIGNED, user=world.me)
    assert selectors._tab_within_sight(selectors.TAB_MINE, user=world.me)
    assert not selectors._tab_within_sight(selectors.TAB_OVERDUE, user=world.me)
    assert not selectors._tab_within_sight(selectors.TAB_ALL, user=world.boss)
    colleague_overdue = world.colleague_overdue.reference
    assert colleague_overdue not in {row.reference for row in _board(world.me, tab="overdue").rows}


def test_tabs_are_drawn_with_their_counts_badges_and_the_current_one_marked(client, world):
    client.force_login(world.me)
    page = client.get(HOME, {"tab": "overdue"}).content.decode()
    assert (
        '<a class="nav-link active" href="?tab=overdue" aria-current="page">Overdue'
        ' <span class="badge rounded-pill text-bg-danger">1</span></a>'
    ) in page
    assert (
        '<a class="nav-link" href="?tab=mine">My cases <span class="badge rounded-pill text-bg-secondary">4</span>'
        in page
    )
    assert (
        '<a class="nav-link" href="?tab=due_soon">Due soon <span class="badge rounded-pill text-bg-warning">2</span>'
        in page
    )
    assert page.count('aria-current="page"') == 1


def test_page_links_keep_the_other_parameters_escaped_and_mark_the_current_page(client, world):
    for number in range(30):
        make(assignee=world.me, organisation=f"Page Test {number}")
    client.force_login(world.me)
    page = client.get(HOME, {"tab": "mine", "per_page": 10, "page": 2, "channel": "web"}).content.decode()
    # Previous, 1, [2], 3, 4, Next: the query kept in its order, the page replaced, "&" escaped.
    assert '<a class="page-link" href="?tab=mine&amp;per_page=10&amp;page=1&amp;channel=web">1</a>' in page
    assert '<li class="page-item active" aria-current="page"><span class="page-link">2</span></li>' in page
    assert '<a class="page-link" href="?tab=mine&amp;per_page=10&amp;page=4&amp;channel=web">4</a>' in page
    assert 'href="?tab=mine&amp;per_page=10&amp;page=3&amp;channel=web" rel="next">Next</a>' in page
    many = client.get(HOME, {"tab": "mine", "per_page": 10, "channel": "web"}).content.decode()
    assert "&hellip;" not in many  # four pages: no gap


def test_rows_carry_the_assignee_and_category_names(client, world):
    billing = CategoryFactory(name="Billing & fees")
    case = make(assignee=world.me, category=billing, name="Robin <Row>")
    client.force_login(world.boss)
    response = client.get(HOME, {"q": case.reference})
    (row,) = response.context["board"].rows
    assert (row.assignee_label, row.category_name) == (selectors.user_label(world.me), "Billing & fees")
    page = response.content.decode()
    assert "Robin &lt;Row&gt;" in page
    assert "Billing &amp; fees" in page
    assert listed(response) == [case.reference]


@pytest.mark.postgres
def test_postgres_managers_unassigned_tab_is_read_from_the_open_cases_order_index(crowd):
    with CaptureQueriesContext(connection) as queries:
        _board(crowd.me, tab="unassigned")
    rows_sql = queries.captured_queries[-1]["sql"]
    assert " OR " not in rows_sql
    assert "complaint_open_due_order" in _plan(rows_sql)
