"""PostgreSQL indexes for the staff dashboard at a million complaints (nothing on SQLite).

* Trigram GIN indexes (pg_trgm) on the exact expressions Django's ``icontains``
  emits on PostgreSQL, ``UPPER("col"::text)``, so a search for a name, an email,
  an organisation, a word of the description or part of a reference does not read
  every row.
* ``complaint_current_due_order``: the dashboard's default order (the running
  deadline, ``ComplaintQuerySet.with_current_due``, soonest first, cases with no
  running deadline last and newest first). With it PostgreSQL reads a page in
  order and stops, instead of sorting every matching case. The CASE expression
  must stay identical to the one Django writes for ``with_current_due()``
  (tests/cases/test_dashboard.py checks the plan on PostgreSQL).
  ``complaint_open_due_order`` is the same over the open cases only: the tabs
  list open cases, and a small index whose every entry matches lets PostgreSQL
  walk it (with a filter such as the assignee or the channel) however many
  closed cases pile up beside them.
* ``complaint_open_counts``: a small partial index over the open cases holding
  every column the tab counts read, so the counts are an index-only scan of the
  open cases whatever the number of closed ones; it also carries the filterable
  columns, so a filtered count of open cases needs no table reads either.
* ``complaint_email_prefix``: a search for an email address is a prefix match
  (``istartswith``: ``UPPER("email"::text) LIKE 'ADDRESS%'``); every address
  shares its domain's trigrams, which makes the trigram index slow for it.

Built CONCURRENTLY (writes go on while a big table is indexed), hence atomic = False.
The model's Meta does not list them: they are PostgreSQL-only, and Django's
migration state need not know them.
"""

from django.db import migrations

OPEN = "('received', 'acknowledged', 'investigating', 'awaiting_client')"
CURRENT_DUE = (
    "CASE WHEN status = 'received' THEN acknowledgement_due "
    "WHEN status IN ('acknowledged', 'investigating') THEN outcome_due ELSE NULL END"
)
TRIGRAM_COLUMNS = ("name", "email", "organisation", "description", "reference")

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *[
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_{column}_trgm "
        f"ON cases_complaint USING gin (UPPER({column}::text) gin_trgm_ops)"
        for column in TRIGRAM_COLUMNS
    ],
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_current_due_order "
    f"ON cases_complaint (({CURRENT_DUE}) ASC NULLS LAST, received_at DESC, id DESC)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_open_due_order "
    f"ON cases_complaint (({CURRENT_DUE}) ASC NULLS LAST, received_at DESC, id DESC) WHERE status IN {OPEN}",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_open_counts "
    "ON cases_complaint (status, assignee_id, acknowledgement_due, outcome_due) "
    f"INCLUDE (channel, category_id, received_at) WHERE status IN {OPEN}",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_email_prefix "
    "ON cases_complaint (UPPER(email::text) text_pattern_ops)",
]
DROP = [
    f"DROP INDEX CONCURRENTLY IF EXISTS {name}"
    for name in (
        *[f"complaint_{column}_trgm" for column in TRIGRAM_COLUMNS],
        "complaint_current_due_order",
        "complaint_open_due_order",
        "complaint_open_counts",
        "complaint_email_prefix",
    )
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (laptops, tests): icontains scans, which is fine at that size
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0004_investigation_roles")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
