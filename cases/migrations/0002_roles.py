"""The staff roles of SPEC.md as groups with their permissions.

Later migrations add the permissions of later features (appeals, reports) to
these groups; this one sets up what complaint intake needs.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Managers": [
        ("cases", "view_complaint"),
        ("cases", "change_complaint"),
        ("cases", "view_attachment"),
        ("cases", "view_category"),
    ],
    "Complaints leads": [
        ("cases", "view_complaint"),
        ("cases", "change_complaint"),
        ("cases", "log_complaint"),
        ("cases", "view_attachment"),
        ("cases", "view_category"),
        ("cases", "add_category"),
        ("cases", "change_category"),
    ],
    "Directors": [
        ("cases", "view_complaint"),
        ("cases", "view_attachment"),
        ("cases", "view_category"),
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_label in ("cases", "auth", "contenttypes"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # the migration state's stub lacks it
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in codenames:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
