from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Messages and letters"

    def ready(self) -> None:
        # Imported here, as Django requires: the models exist only once the registry is ready.
        from django.db.models.signals import post_delete, post_save

        from notifications import webhooks
        from notifications.models import WebhookEndpoint

        # An endpoint added, changed or switched off: every process's next event reads the endpoints again.
        post_save.connect(webhooks.endpoints_changed, sender=WebhookEndpoint)
        post_delete.connect(webhooks.endpoints_changed, sender=WebhookEndpoint)
