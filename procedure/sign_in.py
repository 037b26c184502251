"""Staff sign-in: a complaints lead or an administrator resets a colleague's lost authenticator.

The rule of who may reset whose is ``accounts.two_factor.reset_problem``; removing the devices is
``accounts.two_factor.devices_remove``. This workflow joins them to the audit trail (which the
accounts app, beside it, cannot import): the reset and its audit entry are one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from audit.models import AuditEntry
from audit.services import entry_from_request


@dataclass(frozen=True)
class StaffSignIn:
    """One colleague on the sign-in page: whether their app is set up, their recovery codes left, and
    why the viewer may not reset them ("" if they may)."""

    person: object
    has_app: bool
    codes_left: int
    refused: str


def staff_sign_in_list(*, actor) -> list[StaffSignIn]:
    """Every active staff account, by name, as ``actor`` sees it on the sign-in page (two queries)."""
    people = (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .annotate(
            has_app=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            codes_left=Count("staticdevice__token_set", filter=Q(staticdevice__confirmed=True), distinct=True),
        )
        .order_by("first_name", "last_name", "username")
    )
    return [StaffSignIn(p, p.has_app, p.codes_left, two_factor.reset_problem(actor, p)) for p in people]


def staff_sign_in_reset(*, request, actor, person) -> None:
    """Remove ``person``'s authenticator and recovery codes (they enrol again at their next sign-in),
    recorded in the audit trail in the same transaction. Refused with PermissionDenied and its reason."""
    problem = two_factor.reset_problem(actor, person)
    if problem:
        raise PermissionDenied(problem)
    with transaction.atomic():
        two_factor.devices_remove(person)
        entry_from_request(
            request,
            action=AuditEntry.Action.CHANGE,
            description=f"Reset the sign-in authenticator and recovery codes of {person.get_username()}",
        ).save()
