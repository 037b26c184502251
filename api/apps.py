from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The read-only REST API for the firm's other systems (docs/api.md)."""

    name = "api"
    verbose_name = "API for other systems"

    def ready(self) -> None:
        # Imported here, as Django requires: drf-spectacular finds the token scheme through this registration.
        from api import schema  # noqa: F401
