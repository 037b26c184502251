"""Benchmark-only experiment (issue 16, point 5): the dashboard's search without the word table.

A gunicorn config file (``--config bench/search_tsvector_only.py``): after each worker has
loaded the application, ``install`` replaces three functions in that worker only, so that a
search is answered by the stored tsvector ``cases_complaint.search_words`` and its GIN index
(migration 0011) alone, never reading ``cases_complaint_search_token``:

* ``cases.search.vocabulary``: the search words are still cut by the database's own function
  (``complaint_search_tokens``, the one that cut the cases' words), but no spellings are looked
  up in the word table;
* ``cases.search.terms_found``: every part is a prefix (``'PATEL':*``): the same rule, "begins one
  of the case's words", asked of the GIN index directly;
* ``cases.selectors._ranked_rows`` (a search of one word): the page is the cases matching that
  prefix, ordered by the running deadline (``_BY_DUE_DATE``) and sliced; PostgreSQL chooses
  between reading the matches through the GIN index and sorting them, or walking the cases in
  due-date order testing the stored words.

Everything else (searches of several words, an email, a reference, the tabs) is the product's
code unchanged. The product never loads this file; ``bench/dashboard.py --tsvector-only`` serves
a third gunicorn with it, on the same database as "after".
"""

from __future__ import annotations

# Cut as the product cuts (complaint_search_tokens, 0011), nothing looked up: [[n, part], ...].
_CUT_ONLY = """
SELECT coalesce(json_agg(json_build_array(w.n, p.part) ORDER BY w.n, p.part), '[]'::json)
FROM unnest(%s::text[]) WITH ORDINALITY AS w(word, n)
CROSS JOIN LATERAL unnest(complaint_search_tokens(w.word)) AS p(part)
WHERE char_length(p.part) >= %s
"""


def install() -> None:
    from django.db import connection

    from cases import search, selectors

    def vocabulary(words: list[str]) -> list:
        with connection.cursor() as cursor:
            cursor.execute(_CUT_ONLY, [words, search.MIN_PART])
            return cursor.fetchone()[0]

    def terms_found(words: list[str], answer: list | None) -> search.Terms:
        spellings: dict[str, search.Spellings] = {}
        searched: set[int] = set()
        for number, part in answer or []:
            searched.add(number - 1)
            spellings.setdefault(part, search.Spellings(part, (), prefix=True))
        short = [word for index, word in enumerate(words) if index not in searched]
        return search.Terms(list(spellings), list(spellings.values()), short)

    def ranked_rows(part, *, user, where, offset: int, limit: int, options) -> list:
        if not selectors.is_case_staff(user):
            return []
        terms = search.Terms([part.part], [part], [])
        found = (
            selectors.complaints_visible_to(user)
            .with_current_due()
            .filter(where & search.condition(terms))
            .order_by(*selectors._BY_DUE_DATE)
        )
        return selectors._rows(found[offset : offset + limit], options)

    search.vocabulary = vocabulary
    search.terms_found = terms_found
    selectors._ranked_rows = ranked_rows


def post_worker_init(worker) -> None:  # gunicorn's hook: the application is loaded
    install()
