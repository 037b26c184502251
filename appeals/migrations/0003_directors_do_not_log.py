"""Directors decide appeals in the admin; complaints leads log the ones that arrive by letter or email.

Directors see no cases in the staff pages, where appeals are logged, so the log
permission granted to them by 0002 is withdrawn (accounts/roles.py is the table).
"""

from django.db import migrations


def withdraw(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(content_type__app_label="appeals", codename="log_appeal").first()
    group = Group.objects.filter(name="Directors").first()
    if permission is not None and group is not None:
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("appeals", "0002_roles")]

    operations = [migrations.RunPython(withdraw, migrations.RunPython.noop)]
