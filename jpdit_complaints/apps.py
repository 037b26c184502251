"""The admin app, configured with the staff admin site (jpdit_complaints/admin_site.py)."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "jpdit_complaints.admin_site.StaffAdminSite"
