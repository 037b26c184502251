"""Two-factor sign-in for staff: a TOTP authenticator app (django-otp), required in production.

After the password (the staff sign-in page, throttled by django-axes) a staff
member proves they hold their authenticator: the first time by scanning a QR
code and typing the code it shows (which confirms the device), afterwards by
typing the current code. django-otp marks the session verified; the staff pages
(``cases.access.staff_required``) and the admin (``StaffAdminSite``) refuse a
session that is not. Wrong codes are throttled by the device (an increasing
wait after each failure).
"""

from __future__ import annotations

from django.conf import settings
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


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
    """Check ``token``; on success confirm the device and verify the session. Returns "" or the problem."""
    token = "".join(token.split())
    allowed, details = device.verify_is_allowed()
    if not allowed:
        wait = (details or {}).get("locked_until")
        return "Too many wrong codes. Wait a minute, then try the code your app shows now." + (
            f" (locked until {wait:%H:%M:%S})" if wait else ""
        )
    if not (token.isdigit() and len(token) == 6) or not device.verify_token(token):
        return "That code is not right. Type the 6-digit code your authenticator app shows now."
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return ""
