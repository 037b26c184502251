from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Complaints"

    def ready(self) -> None:
        from cases import signals  # noqa: F401 - connects the calendar cache invalidation
