"""The staff case page (issue 3, item 3): every detail, the timeline, notes and the actions allowed now."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases.access import complaint_for_staff, staff_required


@never_cache
@require_GET
@staff_required
def case_page(request, reference):
    """Placeholder while the case page is built (helper F)."""
    complaint = complaint_for_staff(request.user, reference)
    return HttpResponse(f"Case {complaint.reference}: coming soon.", content_type="text/plain")
