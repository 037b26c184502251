"""Staff signing in through the firm's identity provider (OpenID Connect single sign-on, on when ``OIDC_ENABLED``).

The protocol is ``accounts.oidc`` (mozilla-django-oidc); this module is what a sign-in means here:

- **Who.** The provider's subject ("sub", under its issuer) is linked to one account (``IdentityLink``).
  The first sign-in links the one account not linked yet that has the same email address, or creates
  one (with no usable password); later sign-ins find the account by the link, whatever the email
  address becomes. An address the provider says it has not verified is never matched.
- **Roles.** The provider's groups (the ``OIDC_GROUPS_CLAIM`` claim) give roles through
  ``OIDC_ROLE_MAP``; at every sign-in the account's roles become exactly those (a group left at the
  provider is a role lost here at the next sign-in; groups that are not roles, given in the admin,
  are left alone). Someone whose groups give no role is refused, and keeps none.
- **The second factor** is the provider's: a session it signed in is verified
  (``accounts.two_factor``), and no code is asked here. With ``OIDC_REQUIRE_MFA`` the ID token must
  also say a second factor was used (its "amr" claim holds one of ``OIDC_MFA_METHODS``).
- **Passwords.** While single sign-on is on, a linked account signs in only through the provider
  (so leaving the firm's directory ends access here too); an account never linked, and every
  administrator (superuser), keeps its password and second factor: the way in when the provider is
  down. Switched off, every account signs in with its password and second factor as before.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from accounts.models import IdentityLink
from accounts.roles import ROLE_KEYS, ROLES

logger = logging.getLogger(__name__)

User = get_user_model()


class SignInRefused(Exception):
    """Why someone the provider signed in may not use the product (shown to them as it is)."""


@dataclass(frozen=True)
class ProviderIdentity:
    """What the provider says about the person signing in (the ID token's and userinfo's claims)."""

    issuer: str
    subject: str
    email: str = ""
    email_verified: bool | None = None
    first_name: str = ""
    last_name: str = ""
    groups: tuple[str, ...] = ()
    # How they signed in at the provider ("amr", RFC 8176: "pwd", "otp", "mfa"...).
    methods: tuple[str, ...] = ()


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


def role_map() -> dict[str, str]:
    """``OIDC_ROLE_MAP`` as provider group -> role (group name of ``accounts.roles``); an unknown role is refused."""
    mapped = {}
    for group, key in settings.OIDC_ROLE_MAP.items():
        if key.strip().lower() not in ROLE_KEYS:
            raise ImproperlyConfigured(
                f"OIDC_ROLE_MAP gives {group!r} the role {key!r}: roles are {', '.join(sorted(ROLE_KEYS))}"
            )
        mapped[group.strip()] = ROLE_KEYS[key.strip().lower()]
    return mapped


REQUIRED_SETTINGS = (
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
)


def configuration_problems() -> list[str]:
    """What stops single sign-on from working as configured (nothing while it is off); checked at start-up."""
    if not settings.OIDC_ENABLED:
        return []
    problems = [f"OIDC_ENABLED needs {name}" for name in REQUIRED_SETTINGS if not getattr(settings, name)]
    if settings.OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")) and not settings.OIDC_OP_JWKS_ENDPOINT:
        problems.append(
            f"OIDC_RP_SIGN_ALGO={settings.OIDC_RP_SIGN_ALGO} needs OIDC_OP_JWKS_ENDPOINT (the provider's keys)"
        )
    try:
        if not role_map():
            problems.append("OIDC_ENABLED needs OIDC_ROLE_MAP (which provider groups give which role)")
    except ImproperlyConfigured as error:
        problems.append(str(error))
    return problems


def roles_for(groups: Iterable[str]) -> set[str]:
    """The roles (group names of ``accounts.roles``) the provider's ``groups`` give."""
    mapped = role_map()
    return {mapped[group] for group in groups if group in mapped}


def mfa_problem(methods: Iterable[str]) -> str:
    """Why this sign-in lacks the second factor ``OIDC_REQUIRE_MFA`` asks for ("" if it has it, or if not asked)."""
    if not settings.OIDC_REQUIRE_MFA or set(methods) & set(settings.OIDC_MFA_METHODS):
        return ""
    return (
        f"{provider_name()} did not confirm a second factor (such as an authenticator app) for this sign-in, "
        "and the complaints system needs one. Sign in again and use your second factor when asked."
    )


def password_sign_in_problem(user) -> str:
    """Why ``user`` may not sign in with a password here now ("" if they may)."""
    if not settings.OIDC_ENABLED or user.is_superuser:
        return ""
    if IdentityLink.objects.filter(user=user).exists():
        return f"This account signs in with {provider_name()}."
    return ""


def identity_sign_in(*, identity: ProviderIdentity):
    """The account ``identity`` signs in to, its roles brought in line with the provider's groups; or
    ``SignInRefused``. Roles taken away are kept taken away even when the sign-in is refused."""
    problem = mfa_problem(identity.methods)
    if problem:
        raise SignInRefused(problem)
    roles = roles_for(identity.groups)
    for attempt in range(2):
        try:
            with transaction.atomic():
                user = _account_for(identity, create=bool(roles))
                if user is not None:
                    _sync_roles(user, roles)
                    _update_details(user, identity, staff=bool(roles))
            break
        except IntegrityError:
            # The same person's first sign-in in two tabs at once: the other one linked the account.
            if attempt:
                raise
    if not roles:
        raise SignInRefused(
            f"You signed in with {provider_name()}, but that account is in none of the groups that give a role "
            "in the complaints team. If you should have one, ask an administrator to add you to the right group."
        )
    if user is None or not user.is_active:
        raise SignInRefused("Your account here has been switched off. Ask an administrator if you need it again.")
    logger.info("identity provider sign-in for user %s", user.pk)
    return user


def _account_for(identity: ProviderIdentity, *, create: bool):
    """The account linked to ``identity``; else the one to link (same email, not linked yet); else a new one
    if ``create``. None when there is none and none is to be created."""
    link = (
        IdentityLink.objects.select_related("user")
        .filter(issuer=identity.issuer, subject=identity.subject)
        .select_for_update()
        .first()
    )
    if link is not None:
        return link.user
    if not identity.email:
        raise SignInRefused(f"{provider_name()} did not give your email address, so no account here can be yours.")
    if identity.email_verified is False:
        raise SignInRefused(f"{provider_name()} has not verified your email address, so it cannot be matched here.")
    same_email = list(User.objects.filter(email__iexact=identity.email, identity_link__isnull=True)[:2])
    if len(same_email) > 1:
        raise SignInRefused("More than one account here has your email address. Ask an administrator to sort it out.")
    if same_email:
        user = same_email[0]
    elif not create:
        return None
    else:
        user = User(username=_free_username(identity), email=identity.email)
        user.set_unusable_password()
        user.save()
    IdentityLink.objects.create(user=user, issuer=identity.issuer, subject=identity.subject)
    return user


def _free_username(identity: ProviderIdentity) -> str:
    name = identity.email.lower()[:150]
    if not User.objects.filter(username__iexact=name).exists():
        return name
    suffix = hashlib.sha256(f"{identity.issuer} {identity.subject}".encode()).hexdigest()[:8]
    return f"{name[:141]}~{suffix}"


def _sync_roles(user, roles: set[str]) -> None:
    """``user``'s roles become exactly ``roles``; their other groups stay."""
    role_groups = {group.name: group for group in Group.objects.filter(name__in=ROLES)}
    held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if held - roles:
        user.groups.remove(*(role_groups[name] for name in held - roles))
    if roles - held:
        user.groups.add(*(role_groups[name] for name in roles - held if name in role_groups))


def _update_details(user, identity: ProviderIdentity, *, staff: bool) -> None:
    """The name and email address as the provider has them now; staff while a role is held."""
    user.first_name = identity.first_name[:150] or user.first_name
    user.last_name = identity.last_name[:150] or user.last_name
    user.email = identity.email or user.email
    user.is_staff = staff or user.is_superuser
    user.save(update_fields=["first_name", "last_name", "email", "is_staff"])
