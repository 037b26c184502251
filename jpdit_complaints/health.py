"""Liveness for a load balancer: the process answers; no database, no session.

Also the yardstick of the benchmarks in bench/: the cheapest page the site can serve.
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
