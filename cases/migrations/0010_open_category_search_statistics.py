"""Two dashboard plans at scale (PostgreSQL only): the open cases by category, and a search word's rarity.

* ``complaint_open_category``, a partial index over the open cases by category and
  channel. The category filter, with or without a channel ("phone" + "Billing"), read
  the open cases of the category through two bitmaps (the open states, the category
  over every case ever filed), then each of those cases in the table to keep the one
  channel asked for: at 100,000 cases 779 table pages for 91 rows, 1.6 ms, growing with
  the closed cases of the category. This index holds only the open cases, so the list
  reads its own rows (0.13 ms) and its capped count is read from the index alone.
  Built CONCURRENTLY, as 0005's, so writes go on while it is built.
* More statistics for the searched text (complaint_search_trgm's expression, 0008): 500
  sampled values instead of 100. PostgreSQL estimates how many cases hold a search word by
  trying it on those values. With 100 it guessed a surname held by 1 case in 250 ("Patel")
  at 1 in 33, walked the cases in due-date order expecting a match every 33 rows, and read
  6,900 of them (22 ms at 100,000 cases) where reading the 350 matches and sorting them
  takes 1 ms. Each word of a search costs ~0.1 ms of planning with 500 values (1,000 cost
  0.2 ms and estimated no better plans). ANALYZE samples 150,000 rows instead of 30,000.
"""

from django.db import migrations

OPEN = "('received', 'acknowledged', 'investigating', 'awaiting_client')"
CREATE = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_open_category "
    f"ON cases_complaint (category_id, channel) WHERE status IN {OPEN}",
    "ALTER INDEX complaint_search_trgm ALTER COLUMN 1 SET STATISTICS 500",
    "ANALYZE cases_complaint",
]
DROP = [
    "ALTER INDEX complaint_search_trgm ALTER COLUMN 1 SET STATISTICS -1",
    "DROP INDEX CONCURRENTLY IF EXISTS complaint_open_category",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (laptops, tests): small tables, no need
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0009_anonymised")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
