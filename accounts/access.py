"""Who may use the staff pages: the door every staff view goes through, and where staff land after it.

Every staff view is wrapped in ``staff_required``: anonymous → the sign-in page; signed in
without a staff role → 403; password given but not yet the second factor → the code page
(``accounts.two_factor``). Which case a member of staff may see is the cases app's rule
(``cases.permissions``); this module only says who is staff at all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse

from accounts import two_factor

# A staff role is one of these permissions (accounts/roles.py grants them to the three groups):
# managers work cases, complaints leads manage every case, Directors decide appeals.
STAFF_ROLE_PERMISSIONS = ("cases.work_complaint", "cases.manage_all_complaints", "appeals.decide_appeal")


def is_case_staff(user) -> bool:
    """A signed-in, active staff account holding a staff role (or a superuser).

    Asks ``user.has_perm``, whose answers the permission backend (accounts.backends) reads once per request
    and keeps on the user object.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or any(user.has_perm(permission) for permission in STAFF_ROLE_PERMISSIONS)


def home_for(user) -> str:
    """Where a user lands after signing in with no page asked for: a Director who works no cases, on the
    appeals they decide (in the admin); everyone else on the complaints dashboard."""
    if user.has_perm("appeals.decide_appeal") and not user.has_perm("cases.work_complaint"):
        return reverse("admin:appeals_appeal_changelist")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    context = {"reason": reason, "is_case_staff": is_case_staff(request.user)}
    return render(request, "staff/forbidden.html", context, status=403)


def staff_required(view: Callable | None = None, *, permission: str | None = None):
    """Protect a staff view: sign-in page for anonymous users, 403 for everyone else not allowed.

    ``permission`` (for example ``"cases.log_complaint"``) narrows the view to
    the roles that hold it. Usable as ``@staff_required`` or
    ``@staff_required(permission="cases.log_complaint")``.
    """

    def decorator(view_func: Callable) -> Callable:
        @wraps(view_func)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not is_case_staff(user):
                return forbidden(request, "Your account does not have a role in the complaints team.")
            if two_factor.missing(user):
                # Password given, second factor not yet (accounts.two_factor).
                return redirect_to_login(request.get_full_path(), "staff:two_factor")
            if permission and not user.has_perm(permission):
                return forbidden(request, "Your role does not allow this.")
            return view_func(request, *args, **kwargs)

        return wrapped

    if view is not None:
        return decorator(view)
    return decorator
