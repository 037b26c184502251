"""Who may use the staff pages, and the one way a staff page fetches a complaint.

Every staff view is wrapped in ``staff_required`` (anonymous → sign-in page,
signed in without a staff role → 403), and every complaint a staff page shows
is fetched with ``complaint_for_staff``, which answers 404 for anything the user
may not see, so a reference number alone never reveals that a case exists.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from cases.models import Complaint
from cases.roles import DIRECTORS, LEADS, MANAGERS

STAFF_GROUPS = (MANAGERS, LEADS, DIRECTORS)


def is_case_staff(user) -> bool:
    """A signed-in, active staff account with one of the staff roles (or a superuser)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: one query per request, however often it is asked.
    cached = getattr(user, "_case_staff", None)
    if cached is None:
        cached = user.groups.filter(name__in=STAFF_GROUPS).exists()
        user._case_staff = cached
    return cached


def forbidden(request, reason: str):
    context = {"reason": reason, "is_case_staff": is_case_staff(request.user)}
    return render(request, "staff/forbidden.html", context, status=403)


def staff_required(view=None, *, permission: str | None = None):
    """Protect a staff view: sign-in page for anonymous users, 403 for everyone else not allowed.

    ``permission`` (for example ``"cases.log_complaint"``) narrows the view to
    the roles that hold it. Usable as ``@staff_required`` or
    ``@staff_required(permission="cases.log_complaint")``.
    """

    def decorator(view_func):
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not is_case_staff(user):
                return forbidden(request, "Your account does not have a role in the complaints team.")
            if permission and not user.has_perm(permission):
                return forbidden(request, "Your role does not allow this.")
            return view_func(request, *args, **kwargs)

        return wrapped

    if view is not None:
        return decorator(view)
    return decorator


def complaints_visible_to(user):
    """The complaints a staff user may see: the role rules of ``cases.permissions``, nothing more.

    Leads see every case, managers their own and the unassigned queue;
    directors see none here (they work on appeals in the admin).
    """
    if not is_case_staff(user):
        return Complaint.objects.none()
    return Complaint.objects.visible_to(user)


def complaint_for_staff(user, reference: str, *, permission: str = "cases.view_complaint") -> Complaint:
    """The complaint with this reference, if ``user`` may see it (and holds ``permission``); else 404.

    A missing case and a forbidden one give the same answer.
    """
    if not user.has_perm(permission):
        raise Http404("No such complaint.")
    try:
        # The assignee and category are on every page that shows a case, and the appeal on a
        # case page that has one: one query, not four (at most 12 per case page, issue 3).
        visible = complaints_visible_to(user).select_related("assignee", "category", "appeal")
        return visible.get(reference=reference.strip().upper())
    except Complaint.DoesNotExist:
        raise Http404("No such complaint.") from None
