"""The administrator's API tokens: issued here (the key shown once, on the page that follows), revoked here.

The admin holds no rules of its own: issuing and revoking are ``api.services``; a token is never deleted
(the audit trail names it) and its user never changed (a token for someone else is a new token).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.access import STAFF_ROLE_PERMISSIONS
from api import services
from api.models import ApiToken

# A token lasts a year unless the administrator says otherwise.
DEFAULT_LIFETIME = timedelta(days=365)


def _staff_with_a_role():
    codenames = [permission.split(".", 1)[1] for permission in STAFF_ROLE_PERMISSIONS]
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__permissions__codename__in=codenames)
        .distinct()
        .order_by("username")
    )


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label="May read",
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Complaints come without personal data: ids, references, states, dates. With the client's "
        "personal data: their name, email, phone and organisation, the timeline's wording, the actions' "
        "descriptions (never what the client wrote, nor findings or notes). The report figures: for a "
        "complaints lead or a Director only. See docs/api.md.",
    )

    class Meta:
        model = ApiToken
        fields = ("name", "user", "scopes", "expires_at")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = _staff_with_a_role()
            # A plain choice: no buttons to add or change users from here.
            widget = self.fields["user"].widget
            for ability in ("can_add_related", "can_change_related", "can_delete_related", "can_view_related"):
                setattr(widget, ability, False)
        if not self.instance.pk:
            self.fields["expires_at"].initial = timezone.now() + DEFAULT_LIFETIME

    def clean(self):
        data = super().clean()
        user = data.get("user", self.instance.user if self.instance.pk else None)
        problems = services.token_problems(
            user=user, scopes=data.get("scopes") or [], expires_at=data.get("expires_at"), now=timezone.now()
        )
        for field, problem in problems.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, problem)
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "key_prefix", "user", "scope_list", "state", "last_used_at")
    search_fields = ("name", "key_prefix", "user__username")
    list_select_related = ("user",)
    actions = ("revoke",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "user", "scopes", "expires_at"]
        return [
            "name",
            "key_prefix",
            "user",
            "scopes",
            "expires_at",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = ["key_prefix", "user", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by"]
        # A revoked token stays as it was revoked.
        return [*readonly, "name", "scopes", "expires_at"] if obj.revoked_at else readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke it instead: the audit trail names it

    @admin.display(description="may read")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="state", ordering="expires_at")
    def state(self, obj: ApiToken) -> str:
        if obj.revoked_at is not None:
            return f"Revoked {timezone.localtime(obj.revoked_at):%-d %b %Y}"
        expires = timezone.localtime(obj.expires_at)
        return f"Expired {expires:%-d %b %Y}" if obj.expires_at <= timezone.now() else f"Until {expires:%-d %b %Y}"

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The form checked the service's own rules (``token_problems``); the service issues it.
        token, key = services.token_issue(
            name=form.cleaned_data["name"],
            user=form.cleaned_data["user"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
            issued_by=request.user,
        )
        obj.pk, obj.key_prefix = token.pk, token.key_prefix  # for the admin's own record of the addition
        # The key is shown on the next page only, handed over within this request: never stored anywhere,
        # not even in a message waiting in the session.
        request._issued_key = key

    def response_add(self, request, obj, post_url_continue=None):
        key = getattr(request, "_issued_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        token = ApiToken.objects.select_related("user").get(pk=obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "API token issued",
            "token": token,
            "key": key,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "api/token_issued.html", context)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            services.token_revoke(token=token, revoked_by=request.user)
        messages.success(request, "Revoked: calls with these tokens are refused from now on.")
