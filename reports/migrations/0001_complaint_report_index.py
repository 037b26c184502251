"""A covering index for the reports (PostgreSQL only): the year's figures read it, not the table.

Every figure of a period reads the same few columns of the complaints received in it.
The rows of cases_complaint are wide (names, descriptions, the search text), so a year
of them is hundreds of megabytes of heap; this index holds just the columns the reports
read, ordered by receipt, and PostgreSQL answers the reports' queries from it alone
(an index-only scan: bench/reports.py shows the difference). The cases app's models do
not know about it: it lives here, with the queries it serves (reports/selectors.py), and
it goes away by itself if a column it includes is dropped.

Built CONCURRENTLY (the migration is not atomic), so a live table is not locked while it builds.
SQLite (laptops, tests) has no INCLUDE: nothing to do there.
"""

from django.db import migrations

INDEX = "reports_complaint_received_cover"
CREATE = f"""
CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON cases_complaint (received_at)
INCLUDE (id, status, channel, category_id, assignee_id, outcome, acknowledgement_due, acknowledged_at,
         outcome_due, responded_at)
"""
DROP = f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}"


def run(sql):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0008_search_text_index")]

    operations = [migrations.RunPython(run(CREATE), run(DROP), elidable=False)]
