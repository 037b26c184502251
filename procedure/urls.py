"""Data-protection and operations pages of the staff side (in the "staff" namespace: jpdit_complaints/urls.py)."""

from django.urls import path

from procedure import views

staff_patterns = [
    path("complaints/<str:reference>/audit/", views.case_audit, name="case_audit"),
    path("complaints/<str:reference>/anonymise/", views.case_anonymise, name="case_anonymise"),
    path("privacy/subject-access/", views.subject_access, name="subject_access"),
    path("readyz/", views.readyz, name="readyz"),
    path("operations/", views.operations_page, name="operations"),
    path("operations/emails/<int:message_id>/resend/", views.message_resend, name="message_resend"),
    path("operations/emails/<int:message_id>/handled/", views.message_handled, name="message_handled"),
    path("team/sign-in/", views.staff_sign_in, name="staff_sign_in"),
]
