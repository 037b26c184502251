from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Complaints"

    def ready(self) -> None:
        # Imported here, as Django requires: these modules use models, which exist only once the registry is ready.
        from audit import registry
        from cases import audited, letters, messages, signals, webhooks  # noqa: F401 - signals: the calendar cache
        from notifications import kinds

        kinds.register(*messages.KINDS)
        kinds.register_letters(*letters.KINDS)
        kinds.register_webhook_events(*webhooks.KINDS)
        registry.register_case_lookup("staff", audited.by_reference)
        registry.register("staff", audited.STAFF)
        registry.register("admin", audited.ADMIN)
