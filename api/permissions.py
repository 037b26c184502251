"""Who may make an API call: a valid token (``api.authentication``) whose scope covers the view, acting as a
member of staff who still has a role (``accounts.access.is_case_staff``) and, where the view asks, the role
the staff pages ask for (the reports: ``reports.permissions.can_read_reports``). Which cases the call then
sees is the staff pages' rule (``cases.access``, ``cases.selectors``), applied by the views."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.access import is_case_staff
from api.models import ApiToken


class TokenScope(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return False  # no token: 401 (ApiTokenAuthentication.authenticate_header)
        if not is_case_staff(request.user):
            raise exceptions.PermissionDenied("The token's user has no role in the complaints team any more.")
        scope = getattr(view, "required_scope", None)
        if scope is None or not token.allows(scope):
            raise exceptions.PermissionDenied(f"This token does not have the {scope} scope.")
        role_check = getattr(view, "role_allows", None)
        if role_check is not None and not role_check(request.user):
            raise exceptions.PermissionDenied("The token's user's role does not allow this.")
        return True
