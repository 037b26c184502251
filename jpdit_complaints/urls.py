from django.contrib import admin
from django.urls import include, path

from cases import urls as case_urls

admin.site.site_header = "JPD IT Services: complaints administration"
admin.site.site_title = "JPDIT complaints admin"
admin.site.index_title = "Administration"

urlpatterns = [
    path("", include((case_urls.public_patterns, "public"))),
    path("track/", include((case_urls.client_patterns, "client"))),
    path("staff/", include((case_urls.staff_patterns, "staff"))),
    path("admin/", admin.site.urls),
]
