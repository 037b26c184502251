from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Staff accounts: sign-in, the roles of docs/specification.md as groups, and the second factor."""

    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        # Imported here, not at the top: a module that defines models' callers may not be imported
        # before the app registry is ready (Django's rule for AppConfig.ready).
        from accounts.identity import configuration_problems
        from accounts.roles import sync_roles_after_migrate

        # Single sign-on switched on but unusable as configured: say so at start-up, not at the first sign-in.
        problems = configuration_problems()
        if problems:
            raise ImproperlyConfigured("; ".join(problems))

        # After every migrate and every test-database flush, the groups match accounts/roles.py.
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="accounts.sync_roles")
