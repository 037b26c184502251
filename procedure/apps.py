from django.apps import AppConfig


class ProcedureConfig(AppConfig):
    """The procedure over time: the deadline sweep, retention and the client's data-protection rights."""

    name = "procedure"
    verbose_name = "Procedure: deadlines and retention"

    def ready(self) -> None:
        # Imported here, as Django requires: the module uses models, which exist only once the registry is ready.
        from audit import registry
        from notifications.kinds import register, register_webhook_events
        from procedure import audited, messages, webhooks

        register(*messages.KINDS)
        register_webhook_events(*webhooks.KINDS)
        registry.register("staff", audited.STAFF)
