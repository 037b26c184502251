"""The summary of past months (reports/models.py) and the triggers that log every change under it.

After any INSERT, UPDATE or DELETE of a complaint, an appeal, an action or an extension,
a row in reports_changedmonth names the London month the complaint was received in (both
months if the receipt moved): reports.summary reads that month live until it is built
again. In the database rather than in the services, so that no writer can skip it.

PostgreSQL: one PL/pgSQL function per kind of table. SQLite (laptops, the default test
run) has no time zones: the trigger names the UTC month and the month an hour later (London
is UTC or UTC+1), which is the London month and at worst one more, harmlessly.
"""

from django.db import migrations, models

PART_TABLES = ("appeals_appeal", "cases_action", "cases_extension")
LONDON_MONTH = "date_trunc('month', {} AT TIME ZONE 'Europe/London')::date"

POSTGRES_CREATE = f"""
CREATE FUNCTION reports_complaint_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO reports_changedmonth (month) VALUES ({LONDON_MONTH.format("OLD.received_at")});
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.received_at IS DISTINCT FROM OLD.received_at) THEN
        INSERT INTO reports_changedmonth (month) VALUES ({LONDON_MONTH.format("NEW.received_at")});
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_changed AFTER INSERT OR UPDATE OR DELETE ON cases_complaint
    FOR EACH ROW EXECUTE FUNCTION reports_complaint_changed();

CREATE FUNCTION reports_case_part_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO reports_changedmonth (month)
        SELECT {LONDON_MONTH.format("c.received_at")} FROM cases_complaint c WHERE c.id = OLD.complaint_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.complaint_id IS DISTINCT FROM OLD.complaint_id) THEN
        INSERT INTO reports_changedmonth (month)
        SELECT {LONDON_MONTH.format("c.received_at")} FROM cases_complaint c WHERE c.id = NEW.complaint_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER reports_changed AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION reports_case_part_changed();
"""
    for table in PART_TABLES
)
POSTGRES_DROP = (
    "".join(f"DROP TRIGGER IF EXISTS reports_changed ON {table};\n" for table in ("cases_complaint", *PART_TABLES))
    + "DROP FUNCTION IF EXISTS reports_complaint_changed(); DROP FUNCTION IF EXISTS reports_case_part_changed();"
)


def _sqlite_months(moment: str) -> tuple[str, str]:
    return f"strftime('%Y-%m-01', {moment})", f"strftime('%Y-%m-01', {moment}, '+1 hour')"


def _sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER statement) for SQLite: one trigger per table and event."""
    out = []
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        name = f"reports_complaint_{event.lower()}"
        values = ", ".join(f"({month})" for row in rows for month in _sqlite_months(f"{row}.received_at"))
        body = f"INSERT INTO reports_changedmonth (month) VALUES {values};"
        out.append((name, f"CREATE TRIGGER {name} AFTER {event} ON cases_complaint BEGIN {body} END"))
        for table in PART_TABLES:
            name = f"reports_{table}_{event.lower()}"
            selects = " UNION ALL ".join(
                f"SELECT {month} FROM cases_complaint WHERE id = {row}.complaint_id"
                for row in rows
                for month in _sqlite_months("received_at")
            )
            body = f"INSERT INTO reports_changedmonth (month) {selects};"
            out.append((name, f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END"))
    return out


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE)
    elif schema_editor.connection.vendor == "sqlite":
        for _, statement in _sqlite_triggers():
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        for name, _ in _sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_complaint_report_index"),
        ("cases", "0009_anonymised"),
        ("appeals", "0003_directors_do_not_log"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangedMonth",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("month", models.DateField(db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name="SummaryMonth",
            fields=[
                (
                    "month",
                    models.DateField(help_text="First day of the London month.", primary_key=True, serialize=False),
                ),
                ("built_at", models.DateTimeField(blank=True, null=True)),
                ("calendar_from", models.DateField(blank=True, null=True)),
                ("calendar_until", models.DateField(blank=True, null=True)),
                ("calendar_digest", models.CharField(blank=True, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="SummaryCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("channel", models.CharField(max_length=12)),
                ("category_id", models.IntegerField(null=True)),
                ("assignee_id", models.IntegerField(null=True)),
                ("tally", models.JSONField()),
            ],
            options={
                "indexes": [models.Index(fields=["month", "channel", "category_id"], name="reports_cell_month")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
