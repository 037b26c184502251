"""Grant the roles the appeal permissions (table: accounts/roles.py): Directors decide, leads log."""

from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("appeals", "0001_initial"), ("cases", "0006_appeals")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
