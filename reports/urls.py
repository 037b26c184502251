"""Reports, mounted at /staff/reports/ (namespace "reports")."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_page, name="report"),
    path("trend/", views.trend_page, name="trend"),
    path("export.csv", views.export_csv, name="export"),
    path("summary/<int:year>.pdf", views.annual_pdf, name="annual_pdf"),
]
