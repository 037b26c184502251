from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Email in: what clients send to complaints@ and appeals@, stored first, then made what it is, once."""

    name = "inbound"
    verbose_name = "Email in"

    def ready(self) -> None:
        from anymail.signals import inbound as anymail_inbound

        from inbound import webhooks

        anymail_inbound.connect(webhooks.email_posted, dispatch_uid="inbound.webhooks.email_posted")
