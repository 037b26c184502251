"""The staff dashboard's text search: words found from their beginning, at any number of cases.

The rule (the same on every database):

* A complaint's searched text is its name, email, organisation, description and
  reference. It is cut into words: each run of letters and each run of digits,
  upper-cased (``tokens``). "Priya O'Brien-Patel, priya.patel12@example.com" holds
  PRIYA, O, BRIEN, PATEL, 12, EXAMPLE and COM.
* A search word is cut the same way, and every part of it long enough to search by
  (``MIN_PART``) must begin one of the case's words: "pat" finds Patel and Patrick,
  "obrien" finds nobody (O'Brien is two words), "atel" finds nothing, "00012" finds
  JPD-2026-00012-K.
* Every word of a search must be found (in any field).

On PostgreSQL the words are kept by migration 0011 (the table of each case's words,
``ComplaintSearchToken``, and the GIN index complaint_search_words), so that:

* a search for one word reads the first page off the index of that word's cases in
  due-date order (``ranked_ids``), as many rows as the page shows, however many cases
  hold the word;
* a search for several words asks complaint_search_words for the cases holding all of
  them (``condition``), each spelled out as the words of the vocabulary that begin
  with it (``vocabulary``): whole-word posting lists, so a pair rare together is cheap
  however common each word is.

On SQLite (laptops, tests) ``condition`` is a regular expression over the searched
text that says the same.
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


# The words beginning with a part, in a scalar subquery (parameters: its LIKE pattern twice,
# MAX_SPELLINGS): a recursive query that skips through complaint_search_token_order one
# distinct word at a time, up to one more than MAX_SPELLINGS.
_SPELLINGS = (
    "(WITH RECURSIVE v(token, n) AS ("
    "(SELECT token, 1 FROM cases_complaint_search_token WHERE token LIKE %s ORDER BY token LIMIT 1) "
    "UNION ALL SELECT (SELECT t.token FROM cases_complaint_search_token AS t WHERE t.token > v.token "
    "AND t.token LIKE %s ORDER BY t.token LIMIT 1), n + 1 FROM v WHERE v.token IS NOT NULL AND n <= %s) "
    "SELECT array_agg(token ORDER BY token) FROM v WHERE token IS NOT NULL)"
)


def vocabulary_queries(parts: list[str]) -> list[tuple[str, list]]:
    """For each part, a scalar subquery (SQL, parameters) of the words that begin with it in any case.

    PostgreSQL only; the dashboard asks them inside its tab-counts query (one round trip
    fewer) and gives the answers to ``vocabulary``.
    """
    queries = []
    for part in parts:
        pattern = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        queries.append((_SPELLINGS, [pattern, pattern, MAX_SPELLINGS]))
    return queries


def vocabulary(parts: list[str], answers: list[list[str] | None]) -> list[Spellings]:
    """Each part with its spellings, from the answers to ``vocabulary_queries`` (None: no word begins with it)."""
    spellings = []
    for part, words in zip(parts, answers, strict=True):
        words = words or []
        too_many = len(words) > MAX_SPELLINGS
        spellings.append(Spellings(part, () if too_many else tuple(words), too_many))
    return spellings


def _tsquery(spellings: list[Spellings]) -> str:
    """Every part, each as its spellings ('PATEL' | 'PATELS') or as a prefix ('PAT':*)."""

    def one(entry: Spellings) -> str:
        if entry.prefix:
            return f"'{entry.part}':*"
        return "(" + " | ".join(f"'{word}'" for word in entry.words) + ")"

    return " & ".join(one(entry) for entry in spellings)


def condition(parts: list[str], spellings: list[Spellings] | None) -> Q:
    """Cases holding every part (on a queryset of complaints; ``spellings`` from ``vocabulary`` on PostgreSQL)."""
    if not parts:
        return Q()
    if spellings is not None:
        if any(entry.found_nowhere for entry in spellings):
            return Q(pk__in=[])
        return Q(_Matches(_tsquery(spellings)))
    found = Q()
    for part in parts:
        # Begins a word: not preceded by a letter (a letter run) or by a digit (a digit run).
        before = r"(?<![0-9])" if part[0].isdigit() else r"(?<![^\W\d_])"
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
