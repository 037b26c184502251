"""Take over the deadline sweep's tables from the cases app (cases 0012), rows and all, and rename them."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

DEADLINES = [
    ("acknowledgement", "acknowledgement of the complaint"),
    ("outcome", "written outcome"),
    ("appeal_acknowledgement", "acknowledgement of the appeal"),
    ("appeal_decision", "Director's decision on the appeal"),
    ("action", "promised action"),
    ("appeal_window", "end of the appeal window"),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [("cases", "0012_sweep_models_to_procedure")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DeadlineNotice",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("reminder", "Reminder before the due date"),
                                    ("escalation", "Escalation of a missed due date"),
                                    ("closure", "Closed at the end of the appeal window"),
                                ],
                                max_length=12,
                            ),
                        ),
                        ("deadline", models.CharField(choices=DEADLINES, max_length=30)),
                        ("due_date", models.DateField()),
                        ("subject_id", models.PositiveIntegerField(default=0)),
                        ("recipients", models.JSONField(blank=True, default=list)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "complaint",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deadline_notices",
                                to="cases.complaint",
                            ),
                        ),
                    ],
                    options={"ordering": ["created_at", "pk"], "db_table": "cases_deadlinenotice"},
                ),
                migrations.AddConstraint(
                    model_name="deadlinenotice",
                    constraint=models.UniqueConstraint(
                        fields=("complaint", "kind", "deadline", "due_date", "subject_id"), name="deadline_notice_once"
                    ),
                ),
                migrations.CreateModel(
                    name="SweepLock",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=40, unique=True)),
                        ("daily_work_done_for", models.DateField(blank=True, null=True)),
                    ],
                    options={"db_table": "cases_sweeplock"},
                ),
            ],
            database_operations=[],
        ),
        # Now the tables get this app's names (a rename: no row is copied).
        migrations.AlterModelTable(name="deadlinenotice", table=None),
        migrations.AlterModelTable(name="sweeplock", table=None),
    ]
