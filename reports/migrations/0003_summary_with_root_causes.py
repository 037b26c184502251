"""The kept months were counted before root causes were: build them again (read live until then)."""

from django.db import migrations


def forget_built_months(apps, schema_editor):
    apps.get_model("reports", "SummaryMonth").objects.update(built_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_summary"),
        ("cases", "0019_root_causes"),
        ("appeals", "0005_root_causes"),
    ]

    operations = [migrations.RunPython(forget_built_months, migrations.RunPython.noop)]
