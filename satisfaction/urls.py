"""The survey's public pages (composed into the "public" namespace in jpdit_complaints/urls.py)."""

from django.urls import path

from satisfaction import views

public_patterns = [
    path("feedback/<str:token>/", views.survey, name="survey"),
    path("feedback/<str:token>/no-more/", views.decline, name="survey_decline"),
]
