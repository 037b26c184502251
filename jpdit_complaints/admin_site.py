"""The admin behind the same door as the staff pages.

Signing in happens on the staff sign-in page only (throttled by django-axes),
followed by the second factor when ``STAFF_REQUIRE_2FA`` is on; the admin
refuses a session that has not passed it. Who sees what inside the admin is
still each ModelAdmin's permissions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login

from accounts import two_factor


class StaffAdminSite(admin.AdminSite):
    site_header = "JPD IT Services: complaints administration"
    site_title = "JPDIT complaints admin"
    index_title = "Administration"

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not two_factor.missing(request.user)

    def login(self, request, extra_context=None):
        # One sign-in for everything: the staff page (throttled, then the second factor).
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
