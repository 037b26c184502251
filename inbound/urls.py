"""The email pages of the staff side (composed into the "staff" namespace in jpdit_complaints/urls.py)."""

from django.urls import path

from inbound import views

staff_patterns = [
    path("email-in/", views.email_list, name="email_list"),
    path("email-in/<int:email_id>/", views.email_page, name="email"),
    path("email-in/<int:email_id>/message.eml", views.email_download, name="email_download"),
    path("email-in/<int:email_id>/open/", views.email_open, name="email_open"),
    path("email-in/<int:email_id>/attach/", views.email_attach, name="email_attach"),
    path("email-in/<int:email_id>/appeal/", views.email_appeal, name="email_appeal"),
    path("email-in/<int:email_id>/not-a-complaint/", views.email_not_a_complaint, name="email_not_a_complaint"),
    path("email-in/<int:email_id>/release/", views.email_release, name="email_release"),
]
