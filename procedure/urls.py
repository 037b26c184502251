"""Data-protection pages of the staff side (composed into the "staff" namespace in jpdit_complaints/urls.py)."""

from django.urls import path

from procedure import views

staff_patterns = [
    path("complaints/<str:reference>/audit/", views.case_audit, name="case_audit"),
    path("complaints/<str:reference>/anonymise/", views.case_anonymise, name="case_anonymise"),
    path("privacy/subject-access/", views.subject_access, name="subject_access"),
    path("team/sign-in/", views.staff_sign_in, name="staff_sign_in"),
]
