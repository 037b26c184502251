"""Staff sign-in pages, mounted under /staff/ in the "staff" namespace (jpdit_complaints/urls.py)."""

from django.urls import path

from accounts import views

staff_patterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("two-factor/", views.verify, name="two_factor"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
]
