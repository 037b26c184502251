"""Reports' addresses: the staff's, mounted at /staff/reports/ (namespace "reports"), and the published annual
report's public pages (in the "public" namespace; jpdit_complaints/urls.py composes both)."""

from django.urls import path

from reports import annual_views, views

staff_patterns = [
    path("", views.report_page, name="report"),
    path("trend/", views.trend_page, name="trend"),
    path("export.csv", views.export_csv, name="export"),
    path("summary/<int:year>.pdf", views.annual_pdf, name="annual_pdf"),
    path("annual/", annual_views.annual_list, name="annual_list"),
    path("annual/start/", annual_views.annual_start, name="annual_start"),
    path("annual/<int:report_id>/", annual_views.annual_report, name="annual_report"),
    path("annual/<int:report_id>/words/", annual_views.annual_edit, name="annual_edit"),
    path("annual/<int:report_id>/refresh/", annual_views.annual_refresh, name="annual_refresh"),
    path("annual/<int:report_id>/approve/", annual_views.annual_approve, name="annual_approve"),
    path("annual/<int:report_id>/back-to-draft/", annual_views.annual_return, name="annual_return"),
    path("annual/<int:report_id>/publish/", annual_views.annual_publish, name="annual_publish"),
    path("annual/<int:report_id>/report.pdf", annual_views.annual_preview_pdf, name="annual_preview_pdf"),
]

public_patterns = [
    path("complaint-handling/", annual_views.public_list, name="annual_reports"),
    path("complaint-handling/<int:year>/", annual_views.public_report, name="annual_report"),
    path(
        "complaint-handling/<int:year>/version-<int:version>/", annual_views.public_report, name="annual_report_version"
    ),
    path("complaint-handling/<int:year>/version-<int:version>.pdf", annual_views.public_pdf, name="annual_report_pdf"),
]
