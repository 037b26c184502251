from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Email in: what clients send to complaints@ and appeals@, stored first, then made what it is, once."""

    name = "inbound"
    verbose_name = "Email in"
