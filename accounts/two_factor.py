"""Two-factor sign-in for staff: a TOTP authenticator app (django-otp), required in production.

After the password (the staff sign-in page, throttled by django-axes) a staff
member proves they hold their authenticator: the first time by scanning a QR
code and typing the code it shows (which confirms the device), afterwards by
typing the current code. django-otp marks the session verified, and the session
key changes again (as it did at the password step), so a key seen before the
second factor opens nothing after it. The staff pages
(``accounts.access.staff_required``) and the admin (``StaffAdminSite``) refuse a
session that is not verified. Wrong codes are throttled by the device (an
increasing wait after each failure).

Which session is verified (``session_second_factor``, run for each request by
``accounts.middleware``): one whose device, named in the session by django-otp, is
still a confirmed device of the user (read with the user, ``accounts.backends``), or
one signed in through the firm's identity provider (``accounts.oidc``), whose own
second factor is trusted (``OIDC_REQUIRE_MFA`` makes it show one: ``accounts.identity``).
A password sign-in always needs the code here.

Recovery codes (django-otp's static device): ten one-time codes, shown once when
the app is set up and whenever a new set is asked for (which ends the old set);
each opens the second step once, instead of the app's code. A complaints lead or
an administrator resets a colleague's lost device (``reset_problem``,
``devices_remove``); the colleague sets the app up again at their next sign-in.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import transaction
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.backends import confirmed_device_ids

DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10
# Leads reset a colleague's device (accounts/roles.py grants it to the complaints leads).
RESET_PERMISSION = "cases.manage_all_complaints"
# A session signed in through the identity provider (accounts.oidc), which checked the second factor itself.
IDENTITY_PROVIDER_BACKEND = "accounts.oidc.IdentityProviderBackend"
IDENTITY_PROVIDER_SESSION_KEY = "accounts_second_factor_by_identity_provider"


def required() -> bool:
    return settings.STAFF_REQUIRE_2FA


def is_verified(user) -> bool:
    """Has this session passed the second factor? (A user just signed in is not wrapped by
    django-otp's middleware yet, and has not.)"""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def missing(user) -> bool:
    """Does this staff session still owe the second factor?"""
    return required() and not is_verified(user)


def session_second_factor(request, user):
    """Mark ``user`` (the request's) with this session's second factor, as django-otp's middleware would:
    ``user.otp_device``, the device that verified the session (or None), and ``user.is_verified()``.

    The device named in the session counts while it is a confirmed device of the user (a device removed
    unverifies every session it verified; the name is then dropped from the session, as django-otp does).
    It is loaded only if something reads it: the product only asks ``is_verified()``.
    """
    user.otp_device = None
    by_identity_provider = False
    if user.is_authenticated:
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if persistent_id and persistent_id in confirmed_device_ids(user):
            user.otp_device = SimpleLazyObject(partial(Device.from_persistent_id, persistent_id))
        elif persistent_id:
            del request.session[DEVICE_ID_SESSION_KEY]
        by_identity_provider = verified_by_identity_provider(request)
    user.is_verified = partial(_session_is_verified, user, by_identity_provider)
    return user


def _session_is_verified(user, by_identity_provider: bool) -> bool:
    # otp_device is read when asked: django_otp.login sets it when a code is given during this request.
    return by_identity_provider or user.otp_device is not None


def verified_by_identity_provider(request) -> bool:
    """Was this session signed in through the identity provider (which checked the second factor), and is
    single sign-on still on? (A password sign-in in the same session is not: its backend differs.)"""
    session = request.session
    return bool(
        settings.OIDC_ENABLED
        and session.get(IDENTITY_PROVIDER_SESSION_KEY)
        and session.get(BACKEND_SESSION_KEY) == IDENTITY_PROVIDER_BACKEND
    )


def mark_verified_by_identity_provider(request) -> None:
    """Record that this session's sign-in went through the identity provider (called once signed in)."""
    request.session[IDENTITY_PROVIDER_SESSION_KEY] = True


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def device_to_set_up(user) -> TOTPDevice:
    """The unconfirmed device whose QR code the set-up page shows (the same one until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def provisioning_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an inline SVG QR code (no style attributes: the CSP allows none)."""
    import segno

    return segno.make(device.config_url, error="m").svg_inline(
        scale=4, border=2, title="QR code for your authenticator app"
    )


def secret_for_typing(device: TOTPDevice) -> str:
    """The shared secret in base32, in groups of four, for apps that cannot scan."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def verify(request, device: TOTPDevice, token: str) -> str:
    """Check ``token`` (the app's code, or a recovery code once the app is set up); on success confirm the
    device, verify the session and give it a new key. Returns "" or the problem."""
    token = "".join(token.split()).lower()
    if not (token.isdigit() and len(token) == 6) and device.confirmed:
        return _verify_recovery_code(request, token)
    allowed, details = device.verify_is_allowed()
    if not allowed:
        return _throttled(details)
    if not (token.isdigit() and len(token) == 6) or not device.verify_token(token):
        return "That code is not right. Type the 6-digit code your authenticator app shows now."
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    _verified(request, device)
    return ""


def _throttled(details) -> str:
    wait = (details or {}).get("locked_until")
    return "Too many wrong codes. Wait a minute, then try the code your app shows now." + (
        f" (locked until {wait:%H:%M:%S})" if wait else ""
    )


def _verified(request, device) -> None:
    otp_login(request, device)
    # A new session key for the verified session (the password step rotated it already): a key
    # that leaked before the second factor is worth nothing after it.
    request.session.cycle_key()


def _verify_recovery_code(request, code: str) -> str:
    """Use one recovery code: it works once (the device's row is locked, so two requests with the
    same code cannot both pass)."""
    with transaction.atomic():
        device = (
            StaticDevice.objects.select_for_update().filter(user=request.user, confirmed=True).order_by("pk").first()
        )
        if device is None:
            return "You have no recovery codes. Type the 6-digit code your authenticator app shows."
        allowed, details = device.verify_is_allowed()
        if not allowed:
            return _throttled(details)
        if not device.verify_token(code):
            return "That recovery code is not right, or it has been used already."
    _verified(request, device)
    return ""


def recovery_codes_issue(user) -> list[str]:
    """A new set of one-time recovery codes for ``user``, to show once; any earlier set stops working."""
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return sorted(codes)


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def reset_problem(actor, person) -> str:
    """Why ``actor`` may not reset ``person``'s second factor through the staff page ("" if they may).

    An administrator or a complaints lead resets a colleague's; nobody their own (someone holding a
    signed-in session could otherwise swap in an authenticator of their own), and only an administrator
    an administrator's.
    """
    if person.pk == actor.pk:
        return "You cannot reset your own sign-in: ask a complaints lead or an administrator."
    if actor.is_superuser:
        return ""
    if not actor.has_perm(RESET_PERMISSION):
        return "Only a complaints lead or an administrator can reset someone's sign-in."
    if person.is_superuser:
        return "Only an administrator can reset an administrator's sign-in."
    return ""


def devices_remove(person) -> None:
    """Remove ``person``'s authenticator and recovery codes: they set the app up again at the next
    sign-in, and a session verified with a removed device is verified no longer (django-otp's
    middleware finds no device)."""
    TOTPDevice.objects.filter(user=person).delete()
    StaticDevice.objects.filter(user=person).delete()
