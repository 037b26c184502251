"""One trigram index for the dashboard's text search, over the whole searched text (PostgreSQL only).

The search (``cases.selectors``) requires every word to appear in the name, email,
organisation, description or reference. Written as five ``icontains`` per word,
PostgreSQL estimated a two-word search whose words are each common but rare
together ("Priya Patel") from five per-column guesses per word, and at times
chose to walk the cases in due-date order checking each (51-85 ms). Searched as
one expression, ``UPPER((name || ' ' || email || ' ' || organisation || ' ' ||
description || ' ' || reference)::text) LIKE UPPER('%word%')`` (the SQL of
``icontains`` on ``selectors.search_text()``), each word is one condition on one
index, whose statistics (ANALYZE keeps them for an expression index) say how rare
the words are; two words are one bitmap scan. The separator is a space and a
search word never holds one, so a word cannot match across two fields.

The per-column trigram indexes of the name, email, organisation and description
(0005) are dropped: nothing else searches those columns, and each costs every new
complaint an index update. The reference's stays (the admin searches by reference).
The expression must stay identical to ``selectors.search_text()``;
tests/cases/test_dashboard.py checks on PostgreSQL that the search uses this index.
"""

from django.db import migrations

SEARCH_TEXT = "(name || ' ' || email || ' ' || organisation || ' ' || description || ' ' || reference)"
OLD_COLUMNS = ("name", "email", "organisation", "description")

CREATE = [
    (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_search_trgm "
        f"ON cases_complaint USING gin (UPPER({SEARCH_TEXT}::text) gin_trgm_ops)"
    ),
    *[f"DROP INDEX CONCURRENTLY IF EXISTS complaint_{column}_trgm" for column in OLD_COLUMNS],
    "ANALYZE cases_complaint",
]
DROP = [
    *[
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_{column}_trgm "
        f"ON cases_complaint USING gin (UPPER({column}::text) gin_trgm_ops)"
        for column in OLD_COLUMNS
    ],
    "DROP INDEX CONCURRENTLY IF EXISTS complaint_search_trgm",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (laptops, tests): the search scans, which is fine at that size
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0007_deadlines")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
