"""The complaints changed since a moment, for the API's ``updated_since`` (PostgreSQL only).

``GET /api/v1/cases/?updated_since=...`` (api/views.py ``CaseList``) is how another system keeps its copy
up to date, every few minutes: without an index on ``updated_at`` each call read every case. With it,
PostgreSQL reads only the cases changed since then and sorts those few. Built CONCURRENTLY, so writes go on
while it is built.
"""

from django.db import migrations

CREATE = ["CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_updated ON cases_complaint (updated_at)"]
DROP = ["DROP INDEX CONCURRENTLY IF EXISTS complaint_updated"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (laptops, tests): small tables, no need
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0024_client_newest_indexes")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
