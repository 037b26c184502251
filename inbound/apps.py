from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Email in: what clients send to complaints@ and appeals@, stored first, then made what it is, once."""

    name = "inbound"
    verbose_name = "Email in"

    def ready(self) -> None:
        # Imported here, as Django requires: the modules use models, which exist only once the registry is ready.
        from anymail.signals import inbound as anymail_inbound

        from audit import registry
        from cases import extensions
        from inbound import audited, selectors, webhooks

        registry.register("staff", audited.STAFF)
        extensions.register(selectors.dashboard_extra)
        extensions.register_case_links(selectors.case_links)
        anymail_inbound.connect(webhooks.email_posted, dispatch_uid="inbound.webhooks.email_posted")
