"""complaint_search_vector finds complaint_search_tokens whatever the session's search_path.

pg_restore (manage.py restore, procedure/backup.py) creates tables with an empty search_path; the
generated column ``search_words`` then could not find the unqualified function it calls, and a backup
could not be restored. The function now carries the search_path it was created with.
"""

from django.db import migrations


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":  # SQLite has no such function
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("cases", "0019_root_causes")]

    operations = [
        migrations.RunPython(
            _run("ALTER FUNCTION complaint_search_vector(text) SET search_path FROM CURRENT"),
            _run("ALTER FUNCTION complaint_search_vector(text) RESET search_path"),
        ),
    ]
