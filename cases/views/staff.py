"""Staff pages: logging a complaint, letters to post.

The landing page (``staff:home``) is the dashboard, in ``cases.views.dashboard``.

Views are thin: every one is wrapped in ``staff_required``, fetches a complaint
only through ``cases.access.complaint_for_staff`` and reads through
``cases.selectors``; changes go through ``cases.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import staff_required
from cases import selectors, services
from cases.access import complaint_for_staff
from cases.business_days import london_date
from cases.downloads import private_file_response
from cases.forms import StaffComplaintForm
from notifications import letters
from notifications.models import Letter

LOG_PERMISSION = "cases.log_complaint"


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(permission=LOG_PERMISSION)
def complaint_log(request):
    """A complaints lead logs a complaint that came by phone, email, letter or in person."""
    posted = request.method == "POST"
    form = StaffComplaintForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            complaint = services.complaint_log(
                actor=request.user,
                channel=form.cleaned_data["channel"],
                received_at=form.cleaned_data["received_at"],
                details=form.details(),
                files=form.uploads(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form.clear_staging()
            # "#main" also replaces the form's "#error-summary" fragment, which a redirect would keep.
            response = redirect(reverse("staff:complaint_logged", args=[complaint.reference]) + "#main")
            response.status_code = 303  # See Other: a reload of the next page never posts again
            return response
        # Refused by the service: keep the checked files for the next post, as the form does.
        form.stage_uploads()
    return render(request, "staff/complaint_log.html", {"form": form})


@never_cache
@require_GET
@staff_required(permission=LOG_PERMISSION)
def complaint_logged(request, reference):
    """After logging: the reference, the deadlines, and how the client is being acknowledged."""
    complaint = complaint_for_staff(request.user, reference, permission=LOG_PERMISSION)
    summary = selectors.complaint_intake_summary(complaint=complaint)
    context = {
        "complaint": complaint,
        "summary": summary,
        "received_date": london_date(complaint.received_at),
        "effective_date": complaint.received_effective_date,
        "outcome_days": settings.COMPLAINT_OUTCOME_DAYS,
    }
    return render(request, "staff/complaint_logged.html", context)


@never_cache
@require_GET
@staff_required
def letter_download(request, reference, letter_id):
    """A letter on the case, as a PDF attachment, for staff who may see the case (to post or re-read it)."""

    complaint = complaint_for_staff(request.user, reference)
    letter = get_object_or_404(Letter, pk=letter_id, complaint=complaint)
    letter.complaint = complaint
    letter = letters.letter_file(letter)  # made now if it was not stored after its commit
    return private_file_response(letter.file, filename=letter.download_name, content_type="application/pdf")
