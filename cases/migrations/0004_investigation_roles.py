"""Give the roles the permissions of the investigation workspace (SPEC.md roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Managers": ["work_complaint", "view_note", "add_note", "view_action", "change_action", "view_informationrequest"],
    "Complaints leads": [
        "work_complaint",
        "manage_all_complaints",
        "view_note",
        "add_note",
        "view_action",
        "change_action",
        "view_informationrequest",
    ],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("cases")
    app_config.models_module = True  # the migration state's stub lacks it
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="cases", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label="cases", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_investigation")]

    operations = [migrations.RunPython(grant, revoke)]
