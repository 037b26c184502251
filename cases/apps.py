from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Complaints"

    def ready(self) -> None:
        from cases import signals  # noqa: F401 - connects the calendar cache invalidation
        from cases.roles import sync_roles_after_migrate

        # After every migrate and every test-database flush, the groups match cases/roles.py.
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="cases.sync_roles")
