"""Grant the roles the permissions of the investigation workspace (table: accounts/roles.py)."""

from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_investigation")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
