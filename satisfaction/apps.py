from django.apps import AppConfig


class SatisfactionConfig(AppConfig):
    """The satisfaction survey sent once a complaint closes, and the addresses that declined surveys."""

    name = "satisfaction"
    verbose_name = "Satisfaction surveys"

    def ready(self) -> None:
        # Imported here, as Django requires: the module uses models, which exist only once the registry is ready.
        from notifications.kinds import register
        from satisfaction import messages

        register(*messages.KINDS)
