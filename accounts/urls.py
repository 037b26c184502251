"""Staff sign-in pages, mounted under /staff/ in the "staff" namespace (jpdit_complaints/urls.py).

The single sign-on pages answer 404 while ``OIDC_ENABLED`` is off (accounts/oidc.py).
"""

from django.urls import path

from accounts import oidc, views

staff_patterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("two-factor/", views.verify, name="two_factor"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("sso/", oidc.sign_in_start, name="sso_start"),
    path("sso/callback/", oidc.sign_in_callback, name="sso_callback"),
]
