"""The deadline sweep's models (DeadlineNotice, SweepLock) now belong to the procedure app.

Only Django's record of the models changes here; procedure's 0001 takes them over with
their rows and renames their tables.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_search_tokens")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DeadlineNotice"),
                migrations.DeleteModel(name="SweepLock"),
            ],
            database_operations=[],
        ),
    ]
