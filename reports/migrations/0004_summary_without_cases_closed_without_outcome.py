"""The kept months counted cases closed as not a complaint, which the live count leaves out, and merged
duplicates are new: build them again without either (read live until then)."""

from django.db import migrations


def forget_built_months(apps, schema_editor):
    apps.get_model("reports", "SummaryMonth").objects.update(built_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_summary_with_root_causes"),
        ("cases", "0023_organisation_index"),
    ]

    operations = [migrations.RunPython(forget_built_months, migrations.RunPython.noop)]
