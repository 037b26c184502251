"""URLs of the complaints app, one list per audience (mounted in jpdit_complaints/urls.py)."""

from django.urls import path

from cases.views import client, public, staff

public_patterns = [
    path("", public.complaint_form, name="complaint_form"),
]

client_patterns = [
    path("<str:token>/", client.case_page, name="case"),
]

staff_patterns = [
    path("", staff.home, name="home"),
]
