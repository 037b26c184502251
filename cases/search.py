"""The staff dashboard's text search: words found from their beginning, at any number of cases.

The rule (the same on every database, with one difference: what counts as a letter):

* A complaint's searched text is its name, email, organisation, description and
  reference. It is cut into words: each run of letters and each run of digits,
  upper-cased (``tokens``). "Priya O'Brien-Patel, priya.patel12@example.com" holds
  PRIYA, O, BRIEN, PATEL, 12, EXAMPLE and COM.
* A search word is cut the same way (on PostgreSQL by the database itself, in the
  tab-counts query: ``vocabulary_query``), and every part of it long enough to search by
  (``MIN_PART``) must begin one of the case's words: "pat" finds Patel and Patrick,
  "obrien" finds nobody (O'Brien is two words), "atel" finds nothing, "00012" finds
  JPD-2026-00012-K.
* Every word of a search must be found (in any field).

On PostgreSQL the words are kept by migration 0011 (the table of each case's words,
``ComplaintSearchToken``, and the stored ``search_words`` with the GIN index
complaint_search_words), so that:

* a search for one word reads the first page off the index of that word's cases in
  due-date order (``ranked``), as many rows as the page shows, however many cases
  hold the word;
* a search for several words asks complaint_search_words for the cases holding all of
  them (``condition``), each spelled out as the words of the vocabulary that begin
  with it (``vocabulary_query``, ``terms_found``): whole-word posting lists, so a pair rare together is cheap
  however common each word is.

On SQLite (laptops, tests) ``condition`` is a regular expression over the searched
text that says the same, with Python's letters (``tokens``); PostgreSQL's (glibc's) also
count the vowel signs of scripts such as Devanagari and Arabic, so such a word may be
cut differently on a laptop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Expression, F, Func, Q, TextField

# A part of a search word shorter than this finds too much to be worth a query ("O" of O'Brien).
MIN_PART = 3
# A word kept longer than this is cut (PostgreSQL keeps the first 64 characters of each).
MAX_PART = 64
# A search part that begins more words than this is looked up as a prefix (slower, as rare).
MAX_SPELLINGS = 32

# Letter runs and digit runs, as PostgreSQL's '[[:alpha:]]+|[[:digit:]]+' (0011) cuts them.
_PARTS = re.compile(r"[^\W\d_]+|[0-9]+")
SEARCH_COLUMNS = ("name", "email", "organisation", "description", "reference")


def tokens(text: str) -> list[str]:
    """The words of ``text`` as a search sees them: runs of letters or digits, upper-cased, once each."""
    return list(dict.fromkeys(part[:MAX_PART] for part in _PARTS.findall(_upper(text))))


def _upper(text: str) -> str:
    """Upper case letter by letter, as PostgreSQL's ``upper``: a letter with no one-letter capital (ß) stays."""
    return "".join(capital if len(capital := letter.upper()) == 1 else letter for letter in text)


def parts(word: str) -> list[str]:
    """The parts of a search word that are searched for (those of at least ``MIN_PART`` characters)."""
    return [part for part in tokens(word) if len(part) >= MIN_PART]


class SearchText(Func):
    """``(name || ' ' || email || ' ' || organisation || ' ' || description || ' ' || reference)``."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(*(F(column) for column in SEARCH_COLUMNS))


class _Matches(Expression):
    """``cases_complaint.search_words @@ '<query>'::tsquery``: the stored words (0011) hold the query's."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, query: str):
        super().__init__()
        self.query = query

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.search_words @@ %s::tsquery", (self.query,)


@dataclass(frozen=True)
class Spellings:
    """The words of the vocabulary that begin with a search part (``prefix`` when there are too many to list)."""

    part: str
    words: tuple[str, ...]
    prefix: bool

    @property
    def found_nowhere(self) -> bool:
        return not self.words and not self.prefix


def uses_word_index() -> bool:
    return connection.vendor == "postgresql"


# For each search word (parameters: MAX_SPELLINGS, the words, MIN_PART), its parts as
# PostgreSQL cuts them, each with the words of any case that begin with it, read by skipping
# through complaint_search_token_order one distinct word at a time (up to MAX_SPELLINGS + 1).
# A range, not LIKE: the part is known only as the query runs, and a range of the "C"-ordered
# index is every word that begins with it (no letter or digit sorts after U+10FFFF).
_VOCABULARY = """(
SELECT coalesce(json_agg(json_build_array(w.n, p.part, (
    WITH RECURSIVE v(token, k) AS (
        (SELECT t.token, 1 FROM cases_complaint_search_token AS t
         WHERE t.token >= p.part COLLATE "C" AND t.token < (p.part || chr(1114111)) COLLATE "C"
         ORDER BY t.token LIMIT 1)
        UNION ALL
        SELECT (SELECT t.token FROM cases_complaint_search_token AS t
                WHERE t.token > v.token AND t.token < (p.part || chr(1114111)) COLLATE "C"
                ORDER BY t.token LIMIT 1), v.k + 1
        FROM v WHERE v.token IS NOT NULL AND v.k <= %s
    )
    SELECT array_agg(v.token ORDER BY v.token) FROM v WHERE v.token IS NOT NULL
)) ORDER BY w.n, p.part), '[]'::json)
FROM unnest(%s::text[]) WITH ORDINALITY AS w(word, n)
CROSS JOIN LATERAL unnest(complaint_search_tokens(w.word)) AS p(part)
WHERE char_length(p.part) >= %s
)"""


@dataclass(frozen=True)
class Terms:
    """What a search looks for: its parts (each word's, once), their spellings (PostgreSQL), and the words too short."""

    parts: list[str]
    spellings: list[Spellings] | None
    short: list[str]


def vocabulary(words: list[str]) -> list:
    """Each word's parts as the database cuts them, and their spellings (one query), for ``terms_found``.

    PostgreSQL only. The database cuts the search words with the function that cut the
    cases' words, so both sides agree on what a letter is in every script.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_VOCABULARY}", [MAX_SPELLINGS, words, MIN_PART])
        return cursor.fetchone()[0]


def terms_found(words: list[str], answer: list | None) -> Terms:
    """The ``Terms`` of ``words`` from the answer to ``vocabulary_query`` (None: nothing was asked)."""
    spellings: dict[str, Spellings] = {}
    searched: set[int] = set()
    for number, part, found in answer or []:
        searched.add(number - 1)
        found = found or []
        too_many = len(found) > MAX_SPELLINGS
        spellings.setdefault(part, Spellings(part, () if too_many else tuple(found), too_many))
    short = [word for index, word in enumerate(words) if index not in searched]
    return Terms(list(spellings), list(spellings.values()), short)


def terms_in_python(words: list[str]) -> Terms:
    """The ``Terms`` of ``words`` cut by ``tokens`` (SQLite: no vocabulary, the text is read)."""
    cut = [parts(word) for word in words]
    every = list(dict.fromkeys(part for word_parts in cut for part in word_parts))
    return Terms(every, None, [word for word, word_parts in zip(words, cut, strict=True) if not word_parts])


def _tsquery(spellings: list[Spellings]) -> str:
    """Every part, each as its spellings ('PATEL' | 'PATELS') or as a prefix ('PAT':*)."""

    def one(entry: Spellings) -> str:
        if entry.prefix:
            return f"'{entry.part}':*"
        return "(" + " | ".join(f"'{word}'" for word in entry.words) + ")"

    return " & ".join(one(entry) for entry in spellings)


def condition(terms: Terms) -> Q:
    """Cases holding every part (on a queryset of complaints aliased ``search_text=SearchText()``)."""
    if not terms.parts:
        return Q()
    if terms.spellings is not None:
        if any(entry.found_nowhere for entry in terms.spellings):
            return Q(pk__in=[])
        return Q(_Matches(_tsquery(terms.spellings)))
    found = Q()
    for part in terms.parts:
        # Begins a word: not preceded by a letter (a letter run) or by a digit (a digit run).
        before = r"(?<![0-9])" if part[0] in "0123456789" else r"(?<![^\W\d_])"
        found &= Q(search_text__iregex=before + re.escape(part))
    return found


def ranked(spellings: Spellings, *, rows, ordering: list, offset: int, limit: int):
    """The ids of the cases holding one part, ``limit`` of them from ``offset`` in ``ordering`` (PostgreSQL only).

    ``rows`` (a queryset of ``ComplaintSearchToken``) and ``ordering`` are said in the
    columns that the word's row shares with the complaint (state, assignee, channel,
    category, running deadline, receipt time), so every condition is read from the
    index of the words. A sliced queryset of ``complaint_id``: with one spelling it can
    be a subquery of the page's own query; with several, each is read in order and
    PostgreSQL merges them (a union, to be read on its own).
    """
    end = offset + limit
    if spellings.prefix:
        return rows.filter(token__startswith=spellings.part).order_by(*ordering).values_list("complaint_id")[offset:end]
    if len(spellings.words) == 1:
        return rows.filter(token=spellings.words[0]).order_by(*ordering).values_list("complaint_id")[offset:end]
    rows = rows.values_list("complaint_id", *_sort_columns(ordering))
    branches = [rows.filter(token=word).order_by(*ordering)[:end] for word in spellings.words]
    return branches[0].union(*branches[1:], all=True).order_by(*ordering)[offset:end]


def _sort_columns(ordering: list) -> list[str]:
    names = []
    for term in ordering:
        name = term.expression.name if hasattr(term, "expression") else term.lstrip("-")
        if name != "complaint_id":
            names.append(name)
    return names
