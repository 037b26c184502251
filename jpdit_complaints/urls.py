from django.contrib import admin
from django.urls import include, path

from cases import urls as case_urls

urlpatterns = [
    path("", include((case_urls.public_patterns, "public"))),
    path("track/", include((case_urls.client_patterns, "client"))),
    path("staff/reports/", include("reports.urls", namespace="reports")),
    path("staff/", include((case_urls.staff_patterns, "staff"))),
    path("admin/", admin.site.urls),
]
