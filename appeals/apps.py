from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Appeals"

    def ready(self) -> None:
        # Imported here, as Django requires: the module uses models, which exist only once the registry is ready.
        from appeals import audited, letters, messages, webhooks
        from audit import registry
        from notifications import kinds

        kinds.register(*messages.KINDS)
        kinds.register_letters(*letters.KINDS)
        kinds.register_webhook_events(*webhooks.KINDS)
        registry.register("staff", audited.STAFF)
        registry.register("admin", audited.ADMIN)
