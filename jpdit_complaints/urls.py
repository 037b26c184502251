"""The site's addresses: each app's pages, composed by audience.

Every app lists its own URLs per audience (``public_patterns``, ``client_patterns``,
``staff_patterns``); this module is the one place they meet, so each audience keeps one
namespace ("public", "client", "staff") whichever app serves a page; the API for other systems has its
own ("api", /api/v1/). A mail provider's inbound webhook (anymail/) exists only when
ANYMAIL_WEBHOOK_SECRET is set.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts import urls as account_urls
from appeals import urls as appeal_urls
from cases import urls as case_urls
from inbound import urls as inbound_urls
from jpdit_complaints.health import healthz
from procedure import urls as procedure_urls
from reports import urls as report_urls
from satisfaction import urls as satisfaction_urls

public_patterns = case_urls.public_patterns + satisfaction_urls.public_patterns + report_urls.public_patterns
client_patterns = case_urls.client_patterns + appeal_urls.client_patterns
staff_patterns = [
    path("healthz/", healthz, name="healthz"),
    *account_urls.staff_patterns,
    *case_urls.staff_patterns,
    *appeal_urls.staff_patterns,
    *inbound_urls.staff_patterns,
    *procedure_urls.staff_patterns,
]

urlpatterns = [
    path("", include((public_patterns, "public"))),
    path("track/", include((client_patterns, "client"))),
    path("staff/reports/", include((report_urls.staff_patterns, "reports"))),
    path("staff/", include((staff_patterns, "staff"))),
    path("admin/", admin.site.urls),
    # The read-only API for the firm's other systems (api/, docs/api.md): tokens, not sessions.
    path("api/v1/", include(("api.urls", "api"))),
]
# A mail provider's inbound webhook (django-anymail; inbound/webhooks.py stores what it posts). Only with a
# secret: without one anymail would accept a post from anyone.
if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    urlpatterns.append(path("anymail/", include("anymail.urls")))
