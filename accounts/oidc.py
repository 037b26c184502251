"""Staff single sign-on through OpenID Connect (mozilla-django-oidc), on when ``OIDC_ENABLED``: the protocol's side.

mozilla-django-oidc does the protocol: the authorization code flow with state, nonce and PKCE, the
code exchanged at the token endpoint with the client secret, the ID token's signature (RS256 against
the provider's JWKS, or HS256 with the client secret), expiry and nonce checked, the userinfo endpoint
read. This module adds what the product needs around it; what a sign-in means (the account, its
roles, the second factor, passwords) is ``accounts.identity``.

- ``IdentityProviderBackend``: the ID token's audience checked, the claims handed to
  ``accounts.identity``, and the user of each later request loaded as the password backend loads it
  (``accounts.backends``: one query for the user, their permissions and devices).
- The pages, under /staff/sso/ (404 while single sign-on is off): ``sign_in_start`` sends the browser
  to the provider; ``sign_in_callback`` signs the person in (the session counts as verified by the
  provider's second factor: ``accounts.two_factor``), or shows ``staff/sso_refused.html`` saying why
  not, with nobody signed in: no role, an unconfirmed second factor, a sign-in this browser did not
  start (state or nonce forged or replayed), the provider unreachable.
- ``end_session_url``: signing out also ends the provider's session, when its end-session endpoint
  is configured (``OIDC_OP_LOGOUT_ENDPOINT``).
- ``axes_leaves_alone``: django-axes counts failed passwords; the provider's sign-ins are not (it
  checks its own passwords), so people refused for a missing role never lock out an office's address.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import identity, two_factor
from accounts.access import home_for
from accounts.backends import PermissionBackend

logger = logging.getLogger(__name__)

# Why the backend refused a sign-in, for the callback page to say (the backend may only return None).
REFUSAL_ATTRIBUTE = "sign_in_refused"
CALLBACK_VIEW = "staff:sso_callback"


def _strings(value) -> tuple[str, ...]:
    """A claim that should be a list of strings (a single string is one item; anything else, none)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str))
    return ()


class IdentityProviderBackend(OIDCAuthenticationBackend, PermissionBackend):
    """mozilla-django-oidc's backend, handing what the provider says to ``accounts.identity``."""

    def authenticate(self, request, **kwargs):
        # Only the callback's call, which passes the nonce; a password sign-in is the other backend's.
        if not settings.OIDC_ENABLED or request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        # One query for the user, their permissions and devices, as for a password sign-in.
        return PermissionBackend.get_user(self, user_id)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:
            # The ID token: issued to this client, not to another client of the same provider.
            audience = payload.get("aud")
            if self.OIDC_RP_CLIENT_ID not in _strings(audience):
                raise SuspiciousOperation("The ID token was issued to another client.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about someone else than the ID token.")
        groups_claim = settings.OIDC_GROUPS_CLAIM
        verified = claims.get("email_verified", payload.get("email_verified"))
        person = identity.ProviderIdentity(
            issuer=str(payload.get("iss", "")),
            subject=str(payload["sub"]),
            email=str(claims.get("email") or payload.get("email") or ""),
            email_verified=verified if isinstance(verified, bool) else None,
            first_name=str(claims.get("given_name", "")),
            last_name=str(claims.get("family_name", "")),
            groups=_strings(claims[groups_claim] if groups_claim in claims else payload.get(groups_claim)),
            # How they signed in is the ID token's to say (userinfo has no "amr").
            methods=_strings(payload.get("amr")),
        )
        try:
            return identity.identity_sign_in(identity=person)
        except identity.SignInRefused as refused:
            setattr(self.request, REFUSAL_ATTRIBUTE, str(refused))
            return None


def _refused(request, reason: str, *, status: int):
    context = {"reason": reason, "provider": identity.provider_name()}
    return render(request, "staff/sso_refused.html", context, status=status)


class _OnlyWhenEnabled:
    def dispatch(self, request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not in use.")
        return super().dispatch(request, *args, **kwargs)


class SignInStart(_OnlyWhenEnabled, OIDCAuthenticationRequestView):
    """To the provider's sign-in page, with a fresh state, nonce and PKCE challenge kept in the session."""


class SignInCallback(_OnlyWhenEnabled, OIDCAuthenticationCallbackView):
    """Back from the provider: signed in (on to the page asked for, or the user's home), or refused."""

    def get(self, request):
        state = request.GET.get("state")
        if "code" in request.GET and state not in request.session.get("oidc_states", {}):
            return self._not_started()
        try:
            return super().get(request)
        except SuspiciousOperation as error:
            logger.warning("single sign-on refused: %s", error)
            return self._not_started()
        except requests.RequestException as error:
            logger.warning("identity provider unreachable (%s)", type(error).__name__)
            return _refused(
                request,
                f"{identity.provider_name()} could not be reached. Try again in a minute; if it stays down, "
                "an administrator can still sign in with their password.",
                status=503,
            )

    def _not_started(self):
        return _refused(
            self.request,
            "This sign-in could not be completed: it was not started from this browser, it was used already, "
            "or it did not come from the identity provider. Start again from the sign-in page.",
            status=400,
        )

    @property
    def success_url(self):
        return self.request.session.get("oidc_login_next") or home_for(self.user)

    def login_success(self):
        if self.request.session.get(BACKEND_SESSION_KEY) != two_factor.IDENTITY_PROVIDER_BACKEND:
            # mozilla-django-oidc keeps a session of the same person as it is; one a password opened (still
            # owing the code, say) becomes the provider's, with a new key.
            auth.login(self.request, self.user)
        response = super().login_success()
        two_factor.mark_verified_by_identity_provider(self.request)
        return response

    def login_failure(self):
        reason = getattr(self.request, REFUSAL_ATTRIBUTE, "") or (
            f"{identity.provider_name()} did not sign you in. Start again from the sign-in page."
        )
        return _refused(self.request, reason, status=403)


sign_in_start = SignInStart.as_view()
sign_in_callback = SignInCallback.as_view()


def sign_in_url(next_url: str = "") -> str:
    """The address of the "Sign in with ..." button ("" while single sign-on is off)."""
    if not settings.OIDC_ENABLED:
        return ""
    url = reverse("staff:sso_start")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def end_session_url(request) -> str:
    """Where signing out sends the browser to end the provider's session too ("" for a password session, or
    without an end-session endpoint). Read before the local session ends: it names the ID token."""
    if not (settings.OIDC_OP_LOGOUT_ENDPOINT and two_factor.verified_by_identity_provider(request)):
        return ""
    parameters = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse(settings.LOGIN_URL)),
    }
    id_token = request.session.get("oidc_id_token")
    if id_token:
        parameters["id_token_hint"] = id_token
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(parameters)}"


def axes_leaves_alone(request, credentials) -> bool:
    """django-axes' whitelist (AXES_WHITELIST_CALLABLE): the provider's sign-ins are its own to throttle."""
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name == CALLBACK_VIEW
