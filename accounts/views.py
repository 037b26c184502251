"""Staff sign-in, sign-out and the second step: the code from an authenticator app (``accounts.two_factor``).

With single sign-on on (``accounts.oidc``), the sign-in page offers "Sign in with <provider>" above the
password form, and signing out of a session the provider signed in ends the provider's session too.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import oidc, two_factor
from accounts.access import forbidden, home_for, is_case_staff, staff_required


class StaffLoginView(auth_views.LoginView):
    """Sign-in; failed attempts are counted by django-axes (AXES_* settings), which answers a lockout."""

    template_name = "staff/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return home_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_url"] = oidc.sign_in_url(context.get("next", ""))
        context["sso_provider"] = settings.OIDC_PROVIDER_NAME
        return context

    def get_success_url(self):
        url = super().get_success_url()
        if two_factor.missing(self.request.user):
            # The password is right; now the second factor (accounts.two_factor), then on to ``url``.
            return redirect_to_login(url, "staff:two_factor").url
        return url


class StaffLogoutView(auth_views.LogoutView):
    """Ends the session here; for a session the identity provider signed in, then on to the provider's
    end-session page (when configured), which comes back to the sign-in page."""

    def post(self, request, *args, **kwargs):
        provider_sign_out = oidc.end_session_url(request)  # before the session, and its ID token, are gone
        response = super().post(request, *args, **kwargs)
        return redirect(provider_sign_out) if provider_sign_out else response


# POST only (Django's LogoutView refuses GET): a link or an image cannot sign anyone out.
logout = StaffLogoutView.as_view()
login = StaffLoginView.as_view()


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=20,
        error_messages={"required": "Type the 6-digit code your authenticator app shows, or a recovery code."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return home_for(request.user)


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    """Ask for the code (setting the app up the first time); then on to where the user was going."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    if not is_case_staff(user):
        return forbidden(request, "Your account does not have a role in the complaints team.")
    if two_factor.is_verified(user):
        return redirect(_next(request))
    device = two_factor.confirmed_device(user)
    setting_up = device is None
    if setting_up:
        device = two_factor.device_to_set_up(user)
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        problem = two_factor.verify(request, device, form.cleaned_data["token"])
        if not problem and setting_up:
            # The app is set up: now the recovery codes, shown this once.
            codes = two_factor.recovery_codes_issue(user)
            return render(request, "staff/recovery_codes.html", {"codes": codes, "next": _next(request)})
        if not problem:
            return redirect(_next(request))
        form.add_error("token", problem)
    if form.errors:
        status = 400
    context = {
        "form": form,
        "setting_up": setting_up,
        "next": _next(request),
        "qr_svg": two_factor.provisioning_svg(device) if setting_up else "",
        "secret": two_factor.secret_for_typing(device) if setting_up else "",
    }
    return render(request, "staff/two_factor.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def recovery_codes(request):
    """How many recovery codes are left; POST: a new set, shown on this response only (the old set ends)."""
    if request.method == "POST":
        codes = two_factor.recovery_codes_issue(request.user)
        return render(request, "staff/recovery_codes.html", {"codes": codes, "next": home_for(request.user)})
    return render(request, "staff/recovery_codes.html", {"codes_left": two_factor.recovery_codes_left(request.user)})
