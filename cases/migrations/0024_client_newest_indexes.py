"""The client's other complaints by organisation and by email address, newest first (PostgreSQL only).

``cases.selectors.other_complaints`` lists the newest of a case's other complaints from the same
organisation, and from the same email address, each compared in capitals. 0023's index found all of an
organisation's and PostgreSQL sorted them: at 100,000 cases, 20,000 for an organisation in the benchmark's
data, 70 ms of the case page. These hold them in the order listed (newest received first), so the newest
eleven are the first eleven entries, and PostgreSQL has no better plan to choose (with the prefix index of
0005 it could also walk every case in date order at a small table's statistics). The organisation's
replaces 0023's, which it serves as well (equality on the same first column). Partial, as 0023's: blank
values are never looked up. Built CONCURRENTLY, so writes go on while they are built.
"""

from django.db import migrations

CREATE = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_organisation_newest "
    "ON cases_complaint (UPPER(organisation::text), received_at DESC, id DESC) WHERE organisation <> ''",
    "DROP INDEX CONCURRENTLY IF EXISTS complaint_organisation_upper",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_email_newest "
    "ON cases_complaint (UPPER(email::text), received_at DESC, id DESC) WHERE email <> ''",
]
DROP = [
    "DROP INDEX CONCURRENTLY IF EXISTS complaint_email_newest",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS complaint_organisation_upper "
    "ON cases_complaint (UPPER(organisation::text)) WHERE organisation <> ''",
    "DROP INDEX CONCURRENTLY IF EXISTS complaint_organisation_newest",
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

    dependencies = [("cases", "0023_organisation_index")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
