"""The outcome of a complaint (issue 3, item 4): the outcome form, the letter preview, issuing it, and actions."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cases.access import complaint_for_staff, staff_required


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def outcome_page(request, reference):
    """Placeholder while the outcome form is built (helper G)."""
    complaint = complaint_for_staff(request.user, reference)
    return HttpResponse(f"Outcome of {complaint.reference}: coming soon.", content_type="text/plain")
