"""The dashboard's text search (cases.search): words found from their beginning, the same on every database.

On PostgreSQL the words live in cases_complaint_search_token, kept by triggers (migration
0011): the tests marked ``postgres`` check that they follow every kind of change.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import search, selectors
from cases.models import Complaint, ComplaintSearchToken
from procedure import retention
from tests.cases.test_dashboard import HOME, TODAY, _frozen  # noqa: F401 (the dashboard tests' Tuesday, frozen)
from tests.cases.test_dashboard import make as make_case
from tests.factories import CategoryFactory, lead, manager

pytestmark = pytest.mark.django_db

Status = Complaint.Status


def make(**fields):
    """A case as the dashboard tests make them, with fixed details that hold no search word by chance."""
    for field, value in {"email": "client@example.test", "organisation": "", "description": "A late visit."}.items():
        fields.setdefault(field, value)
    return make_case(**fields)


def found(client, query: str, **filters) -> list[str]:
    response = client.get(HOME, {"q": query, **filters})
    assert response.status_code == 200
    return [row.reference for row in response.context["board"].rows]


# --- the rule -----------------------------------------------------------------------------


def test_a_text_is_cut_into_runs_of_letters_and_runs_of_digits():
    text = "Priya O'Brien-Patel, priya.patel12@example.com: Zoë's café, JPD-2026-00012-K"
    assert search.tokens(text) == [
        *("PRIYA", "O", "BRIEN", "PATEL", "12", "EXAMPLE", "COM", "ZOË", "S", "CAFÉ"),
        *("JPD", "2026", "00012", "K"),
    ]
    assert search.parts("O'Brien") == ["BRIEN"]  # "O" is too short to search by
    assert search.parts("a-b") == []


def test_search_finds_words_from_their_beginning_and_never_from_their_middle(client):
    boss = lead()
    patel = make(name="Priya Patel")
    patrick = make(name="Patrick Moore")
    client.force_login(boss)
    assert set(found(client, "pat")) == {patel.reference, patrick.reference}
    assert found(client, "patel") == [patel.reference]
    assert found(client, "atel") == []
    assert found(client, "patelx") == []


def test_a_search_word_with_punctuation_must_find_each_of_its_parts(client):
    boss = lead()
    case = make(name="Siobhan O'Brien-Patel", email="siobhan7@quince-mail.test")
    make(name="Brien Jones")
    client.force_login(boss)
    assert found(client, "O'Brien-Patel") == [case.reference]
    assert found(client, "quince-mail") == [case.reference]
    # O'Brien is the words O and BRIEN: "obrien" begins neither.
    assert found(client, "obrien") == []


def test_digits_are_words_of_their_own(client):
    boss = lead()
    case = make(name="Ada Lovelace", reference="JPD-2026-00412-A", description="Ticket 88231 was closed.")
    client.force_login(boss)
    assert found(client, "00412") == [case.reference]
    assert found(client, "8823") == [case.reference]
    assert found(client, "ticket88231") == [case.reference]  # TICKET and 88231
    assert found(client, "412") == []


def test_letters_outside_english_are_letters(client):
    boss = lead()
    case = make(name="Zoë Łukasiewicz")
    client.force_login(boss)
    assert found(client, "zoë") == [case.reference]
    assert found(client, "ŁUKASIEWICZ") == [case.reference]


def test_search_syntax_typed_into_the_box_is_only_text(client):
    boss = lead()
    patel = make(name="Priya Patel")
    client.force_login(boss)
    # tsquery and LIKE syntax are punctuation here: only the letters between them are searched.
    assert found(client, "'pat':*") == [patel.reference]
    assert found(client, "pat%_ & !priya |") == [patel.reference]
    for nonsense in ("'\\ & | ! :*", "%_%", "-- ;"):
        response = client.get(HOME, {"q": nonsense})
        assert response.status_code == 200
        assert response.context["board"].searching
        assert response.context["board"].rows == []
    # What the form refuses is said, and nothing is searched.
    for refused, error in (("a\x00bcd", "Null characters are not allowed."), ("pat" * 70, "at most 200 characters")):
        response = client.get(HOME, {"q": refused})
        assert error in str(response.context["form"].errors)
        assert not response.context["board"].searching


@pytest.mark.parametrize("spellings", [search.MAX_SPELLINGS, 2], ids=["listed", "too many: a prefix"])
def test_a_word_with_many_spellings_finds_them_all_in_due_date_order(client, monkeypatch, spellings):
    monkeypatch.setattr(search, "MAX_SPELLINGS", spellings)
    boss = lead()
    names = ["Pat Ogden", "Patel Shah", "Patrick Lane", "Patricia Hull", "Patterson Wood"]
    cases = [make(name=name, due=TODAY + dt.timedelta(days=9 - 2 * n)) for n, name in enumerate(names)]
    closed = make(name="Patience Gray", status=Status.CLOSED)
    make(name="Spat Jones")
    client.force_login(boss)
    soonest_first = [case.reference for case in reversed(cases)]
    assert found(client, "pat") == [*soonest_first, closed.reference]
    assert found(client, "pat", per_page=10, page=1)[:2] == soonest_first[:2]


def test_one_word_search_keeps_to_the_filters_and_to_the_managers_cases(client):
    me, colleague = manager(), manager()
    billing = CategoryFactory(name="Billing")
    mine = make(name="Wanda Quill", assignee=me, channel="phone", category=billing)
    unassigned = make(name="Walter Quill", channel="web")
    make(name="Wendy Quill", assignee=colleague, channel="phone", category=billing)
    closed = make(name="Winston Quill", assignee=me, status=Status.CLOSED, channel="phone")
    client.force_login(me)
    assert set(found(client, "quill")) == {mine.reference, unassigned.reference, closed.reference}
    assert set(found(client, "quill", channel="phone")) == {mine.reference, closed.reference}
    assert found(client, "quill", category=billing.pk) == [mine.reference]
    assert found(client, "quill", state="closed") == [closed.reference]
    assert found(client, "quill", assignee="none") == [unassigned.reference]
    assert set(found(client, "quill", state="open")) == {mine.reference, unassigned.reference}


def test_search_pages_follow_each_other_without_gaps_or_repeats(client):
    boss = lead()
    cases = [make(name=f"Harriet Vane{n}", due=TODAY + dt.timedelta(days=n % 7)) for n in range(23)]
    client.force_login(boss)
    pages = [found(client, "harriet", per_page=10, page=page) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [10, 10, 3]
    assert sorted(ref for page in pages for ref in page) == sorted(case.reference for case in cases)


# --- PostgreSQL: the words follow every change ----------------------------------------------


def _words(case) -> set[str]:
    return set(ComplaintSearchToken.objects.filter(complaint_id=case.pk).values_list("token", flat=True))


def _carried(case) -> set[tuple]:
    return set(
        ComplaintSearchToken.objects.filter(complaint_id=case.pk).values_list(
            "current_due", "status", "assignee_id", "channel", "category_id", "received_at"
        )
    )


@pytest.mark.postgres
def test_postgres_cuts_the_text_of_british_records_as_python_does():
    """SQLite's search (Python's rule) finds what PostgreSQL's does in the names, addresses and
    punctuation of the records this firm keeps; in scripts with vowel marks PostgreSQL decides."""
    texts = [
        "Priya O'Brien-Patel priya.patel12@example.com",
        "Zoë Łukasiewicz, Ærø Straße 5b; naïve façade; ﬁnance İstanbul \u0131i",
        "JPD-2026-00012-K ticket#88231 under_score x2y3",
        "tab\tnew\nline  double  space",
        "A" * 80 + " " + "7" * 70,
        "",
    ]
    with connection.cursor() as cursor:
        for text in texts:
            cursor.execute("SELECT complaint_search_tokens(%s)", [text])
            assert sorted(cursor.fetchone()[0]) == sorted(search.tokens(text)), text


@pytest.mark.postgres
def test_postgres_cuts_the_search_words_too_so_every_script_is_found_whole(client):
    """Hindi vowel signs and Arabic short vowels are letters to PostgreSQL and marks to Python:
    on PostgreSQL the database cuts the search words with the function that cut the cases'."""
    boss = lead()
    priya = make(name="प्रिया पटेल")
    samir = make(name="سَمِير الحَداد")
    make(name="Priya Patel")
    client.force_login(boss)
    assert found(client, "प्रिया") == [priya.reference]
    assert found(client, "पटे") == [priya.reference]
    assert found(client, "سَمِير") == [samir.reference]


@pytest.mark.postgres
def test_postgres_a_new_case_has_its_words_with_its_deadline_state_and_assignee():
    me = manager()
    case = make(name="Dorothy Sayers", organisation="Wimsey & Co", assignee=me, due=TODAY + dt.timedelta(days=3))
    assert {"DOROTHY", "SAYERS", "WIMSEY", "CO", "CLIENT", "EXAMPLE", "TEST", "LATE", "VISIT"} <= _words(case)
    assert set(case.reference.replace("-", " ").split()) <= _words(case)
    assert _carried(case) == {
        (TODAY + dt.timedelta(days=3), Status.INVESTIGATING, me.pk, "web", None, case.received_at)
    }


@pytest.mark.postgres
def test_postgres_words_follow_a_change_of_state_assignee_category_and_text():
    me = manager()
    case = make(name="Dorothy Sayers", due=TODAY + dt.timedelta(days=3))
    billing = CategoryFactory(name="Billing")
    Complaint.objects.filter(pk=case.pk).update(
        status=Status.AWAITING_CLIENT, assignee=me, category=billing, channel="phone"
    )
    assert _carried(case) == {(None, Status.AWAITING_CLIENT, me.pk, "phone", billing.pk, case.received_at)}
    case.refresh_from_db()
    case.name = "Harriet Vane"
    case.save()
    assert "HARRIET" in _words(case)
    assert "SAYERS" not in _words(case)


@pytest.mark.postgres
def test_postgres_an_anonymised_case_keeps_no_searchable_trace_of_the_client(client):
    boss = lead()
    case = make(name="Peter Wimsey", email="peter.wimsey@example.test", status=Status.CLOSED)
    retention.complaints_anonymise([case.pk], summary="Retention period over")
    assert not {"PETER", "WIMSEY"} & _words(case)
    client.force_login(boss)
    assert found(client, "wimsey") == []


@pytest.mark.postgres
def test_postgres_a_deleted_case_takes_its_words_with_it():
    case = make(name="Charles Parker")
    other = make(name="Mary Parker")
    Complaint.objects.filter(pk=case.pk).delete()
    assert not ComplaintSearchToken.objects.filter(complaint_id=case.pk).exists()
    assert "PARKER" in _words(other)


@pytest.mark.postgres
def test_postgres_one_word_is_read_in_order_from_the_index_of_words(client):
    boss = lead()
    for n in range(30):
        make(name=f"Bunter Number{n}", due=TODAY + dt.timedelta(days=n % 9))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_complaint_search_token")
    options = selectors.dashboard_options(user=boss)
    with CaptureQueriesContext(connection) as queries:
        board = selectors.complaint_dashboard(
            user=boss, filters=selectors.DashboardFilters(q="bunter", per_page=10), options=options
        )
    assert len(board.rows) == 10
    # The page's own query, with the word's cases as a subquery.
    words_query = next(q["sql"] for q in queries.captured_queries if 'FROM "cases_complaint_search_token"' in q["sql"])
    with connection.cursor() as cursor:
        # Thirty cases are cheapest to scan: forbid that, to see whether the index serves the page.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + words_query)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using complaint_search_token_order" in plan
    assert "Sort" not in plan  # already in order: the page is the first rows of the index


@pytest.mark.postgres
def test_postgres_several_words_are_found_in_the_words_index(client):
    boss = lead()
    for n in range(30):
        make(name=f"Bunter {('Arbuthnot', 'Brown', 'Carver')[n % 3]}")
    options = selectors.dashboard_options(user=boss)
    with CaptureQueriesContext(connection) as queries:
        board = selectors.complaint_dashboard(
            user=boss, filters=selectors.DashboardFilters(q="bunter brown"), options=options
        )
    assert len(board.rows) == 10
    with connection.cursor() as cursor:
        # Thirty cases are cheapest to scan or to walk in order: forbid both, to see whether
        # the words index can find the cases holding both words.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "complaint_search_words" in plan


# --- in the browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_a_search_typed_in_the_browser_lists_the_cases_whose_words_begin_with_it(live_server, monkeypatch):
    """The lead types "pat" into the dashboard's search box; screenshots at desktop and phone width."""
    from playwright.sync_api import sync_playwright

    from tests.factories import UserFactory
    from tests.services import VIEWPORTS, launch_chromium, screenshot_dir, sign_in_staff

    # Playwright's sync API runs an event loop in this thread; the live server's database is a real one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    UserFactory(username="lena", first_name="Lena", last_name="Lead", groups=["Complaints leads"])
    wanted = [
        make(name="Priya Patel", organisation="Chiltern Estates", due=TODAY + dt.timedelta(days=2)),
        make(name="Patrick Moore", organisation="Marlow Logistics", due=TODAY + dt.timedelta(days=7)),
        make(name="Ada Lovelace", description="The patch was applied late.", status=Status.CLOSED),
    ]
    make(name="Spat Jones", description="A late visit.")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for label, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            sign_in_staff(page, live_server.url, "lena")
            page.fill("input[name=q]", "pat")
            page.press("input[name=q]", "Enter")
            page.wait_for_selector("text=3 cases match")
            page.screenshot(path=screenshot_dir() / f"staff-search-{label}.png", full_page=True)
            text = page.inner_text("main")
            assert all(case.reference in text for case in wanted)
            assert "Spat Jones" not in text
            page.close()
        browser.close()
