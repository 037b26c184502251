"""On PostgreSQL, the database itself refuses to change or delete an audit entry.

The model and its queryset already refuse (audit.models); this stops raw SQL and
any future code path too. The one change allowed: when a user account or a case
is deleted, its key in the entry becomes NULL (ON DELETE SET NULL, done by
Django's collector as an UPDATE); every other column, the snapshots included,
must stay as written. TRUNCATE (the test suite's flush) fires no row trigger.
SQLite (laptops, the default test run) has no such trigger: its flush deletes rows.
"""

from django.db import migrations

COLUMNS = (
    "id",
    "at",
    "username",
    "action",
    "description",
    "reference",
    "object_kind",
    "object_id",
    "ip_address",
    "method",
    "path",
    "url_name",
    "status_code",
)
NEW = ", ".join(f"NEW.{c}" for c in COLUMNS)
OLD = ", ".join(f"OLD.{c}" for c in COLUMNS)

CREATE = f"""
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries cannot be deleted';
    END IF;
    IF (NEW.user_id IS NULL OR NEW.user_id = OLD.user_id)
       AND (NEW.complaint_id IS NULL OR NEW.complaint_id = OLD.complaint_id)
       AND ({NEW}) IS NOT DISTINCT FROM ({OLD}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries cannot be changed';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP), elidable=False)]
