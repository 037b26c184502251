"""Staff accounts have no tables of their own: Django's users and groups, django-otp's devices.

This module exists so that Django sends this app ``post_migrate`` (it does so only for apps
with a models module), on which the groups are brought in line with ``accounts.roles``.
"""
