"""The administrator's webhook endpoints: other systems told of a case's events (``notifications.webhooks``).

Added and changed here by administrators only (no staff role holds the permissions); never deleted, so
each one's deliveries stay on record: switched off instead. The secret is made when the endpoint is
added and shown on its page, for the receiver to check our signatures with; "make a new secret" replaces
it (the receiver must then be given the new one). The deliveries themselves are outbox rows, read with
the emails (``cases/admin.py``) and on the Operations page.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html

from notifications import kinds, webhooks
from notifications.models import OutboundMessage, WebhookEndpoint, new_webhook_secret


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="Address",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vTextField", "size": 60}),
        help_text=WebhookEndpoint._meta.get_field("url").help_text,
    )
    events = forms.MultipleChoiceField(
        label="Events it wants",
        choices=kinds.webhook_event_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each event is posted once to this address, signed, and tried again later if it is not accepted.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "may_receive_personal_data", "active")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = webhooks.address_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "event_list", "personal_data", "active", "failed")
    search_fields = ("name", "url")
    readonly_fields = ("signing_secret", "created_at")
    actions = ("make_new_secret",)

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "events", "may_receive_personal_data", "active"]
        return fields if obj is None else [*fields, "signing_secret", "created_at"]

    def get_queryset(self, request):
        failed = Q(deliveries__state=OutboundMessage.State.FAILED, deliveries__handled_at__isnull=True)
        return super().get_queryset(request).annotate(failed_count=Count("deliveries", filter=failed))

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its deliveries stay on record: switch it off instead.
        return False

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return " ".join(obj.events)

    @admin.display(description="personal data", boolean=True, ordering="may_receive_personal_data")
    def personal_data(self, obj: WebhookEndpoint) -> bool:
        return obj.may_receive_personal_data

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, obj: WebhookEndpoint) -> int:
        return obj.failed_count

    @admin.display(description="secret")
    def signing_secret(self, obj: WebhookEndpoint) -> str:
        return format_html(
            "<code>{}</code><br>Give it to the receiver: it checks each delivery's X-JPDIT-Signature with it "
            "(docs/webhooks.md).",
            obj.secret,
        )

    @admin.action(description="Make a new secret for the selected endpoints", permissions=["change"])
    def make_new_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint.secret = new_webhook_secret()
            endpoint.save(update_fields=["secret"])
        messages.success(request, "New secrets made: give each receiver its new one (shown on the endpoint's page).")
