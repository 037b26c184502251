from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Appeals"

    def ready(self) -> None:
        # Imported here, as Django requires: the module uses models, which exist only once the registry is ready.
        from appeals import audited, messages
        from audit import registry
        from notifications.kinds import register

        register(*messages.KINDS)
        registry.register("staff", audited.STAFF)
        registry.register("admin", audited.ADMIN)
