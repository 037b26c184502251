"""The API's addresses, under /api/v1/ (jpdit_complaints/urls.py), namespace "api"."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from api import views

urlpatterns = [
    path("cases/", views.CaseList.as_view(), name="cases"),
    path("cases/<str:reference>/", views.CaseDetail.as_view(), name="case"),
    path("events/", views.EventList.as_view(), name="events"),
    path("actions/", views.ActionList.as_view(), name="actions"),
    path("reports/figures/", views.ReportFigures.as_view(), name="report_figures"),
    # The OpenAPI schema (YAML; ?format=json for JSON), open to anyone: it describes the API, holds no data.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
