"""Public pages: the complaint form, its confirmation, the procedure and the privacy notice.

Views are thin: the form checks the input (and keeps valid documents between
posts), ``cases.ratelimit`` holds back floods, ``cases.services.complaint_submit``
saves the complaint and queues its acknowledgement. No page needs JavaScript,
and none depends on a session: the confirmation page is reached through the
same signed token as the client's tracking link.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from cases import links, ratelimit, services
from cases.business_days import add_business_days
from cases.forms import NewLinkForm, PublicComplaintForm
from jpdit_complaints.storage import STORAGE_UNAVAILABLE

logger = logging.getLogger(__name__)

# What the page asks a client to wait when the file store is down (an outage is usually short).
STORAGE_RETRY_AFTER_SECONDS = 120


def _see_other(url: str):
    response = redirect(url)
    response.status_code = 303
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def complaint_form(request):
    """The public complaint form: on success, redirect to the confirmation page."""
    if request.method != "POST":
        return _form_page(request, PublicComplaintForm())

    form = PublicComplaintForm(request.POST, request.FILES)
    if form.is_bot:
        # Look accepted, so the bot learns nothing; log without any personal data.
        logger.info("Public complaint form: honeypot filled, nothing saved")
        return _see_other(reverse("public:complaint_thanks"))
    try:
        if not form.is_valid():
            return _form_page(request, form)

        decision = ratelimit.intake_attempt(request)
        if not decision.allowed:
            form.stage_uploads()
            logger.warning("Public complaint form: hourly limit reached for an address, nothing saved")
            response = _form_page(
                request, form, status=429, rate_limited=decision, retry_at=timezone.localtime(decision.retry_at)
            )
            response["Retry-After"] = str(decision.retry_after_seconds)
            return response

        complaint = services.complaint_submit(details=form.details(), files=form.uploads())
    except STORAGE_UNAVAILABLE as error:
        # The file store is down: nothing was saved (complaint_submit removes what it wrote). The client
        # gets their typed answers back, and the documents kept from earlier posts, to send again.
        logger.warning("Public complaint form: private storage unavailable (%s), nothing saved", type(error).__name__)
        response = _form_page(request, form, status=503, storage_down=True)
        response["Retry-After"] = str(STORAGE_RETRY_AFTER_SECONDS)
        return response
    form.clear_staging()
    token = links.client_token(complaint)
    # "#main" moves the reader (and a screen reader's focus) straight to the news.
    return _see_other(reverse("public:complaint_received", args=[token]) + "#main")


def _form_page(request, form, *, status=200, **extra):
    context = {"form": form, "days": _procedure_days(), "retention_years": settings.RETENTION_YEARS, **extra}
    return render(request, "cases/public/complaint_form.html", context, status=status)


@never_cache
@require_GET
def complaint_received(request, token: str):
    """The confirmation: the reference number, what happens next and the link to follow the case."""
    check = links.check_client_token(token)
    if not check.ok:
        raise Http404("No such complaint.")
    complaint = check.complaint
    # Before the acknowledgement the exact outcome date is not known yet: give the latest it can be.
    outcome_by = complaint.outcome_due or add_business_days(
        complaint.acknowledgement_due, settings.COMPLAINT_OUTCOME_DAYS
    )
    response = render(
        request,
        "cases/public/complaint_received.html",
        {
            "complaint": complaint,
            "outcome_by": outcome_by,
            "outcome_exact": complaint.outcome_due is not None,
            "track_url": reverse("client:case", args=[token]),
            "days": _procedure_days(),
        },
    )
    # The address carries a secret: do not leak it to other sites through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def complaint_thanks(request):
    """What a bot (a filled honeypot) is shown: an acceptance without a reference."""
    return render(request, "cases/public/complaint_thanks.html")


def _procedure_days() -> dict:
    """The day counts of the procedure, from the same settings the deadline code uses."""
    return {
        "acknowledgement": settings.COMPLAINT_ACKNOWLEDGEMENT_DAYS,
        "outcome": settings.COMPLAINT_OUTCOME_DAYS,
        "appeal_window": settings.APPEAL_WINDOW_DAYS,
        "appeal_acknowledgement": settings.APPEAL_ACKNOWLEDGEMENT_DAYS,
        "appeal_decision": settings.APPEAL_DECISION_DAYS,
    }


@require_GET
def procedure(request):
    """Our complaints procedure, in plain words, with its day counts from settings."""
    return render(
        request,
        "cases/public/procedure.html",
        {"days": _procedure_days(), "close_of_business": settings.CLOSE_OF_BUSINESS},
    )


@require_GET
def privacy(request):
    """The privacy notice for complainants."""
    return render(request, "cases/public/privacy.html", {"retention_years": settings.RETENTION_YEARS})


@never_cache
@require_http_methods(["GET", "POST"])
def new_link(request):
    """ "Get a new link to my complaint": the reference and the email on the complaint; a fresh link goes to
    that address only. The answer is the same whether or not they match a complaint, and it is rate limited."""
    form = NewLinkForm(request.POST or None)
    context = {"form": form, "interval_minutes": int(services.FRESH_LINK_INTERVAL.total_seconds() // 60)}
    if request.method != "POST" or not form.is_valid():
        status = 400 if form.errors else 200
        return render(request, "cases/public/new_link.html", context, status=status)
    decision = ratelimit.link_request_attempt(request)
    if not decision.allowed:
        logger.warning("New link page: hourly limit reached for an address, nothing sent")
        context.update(rate_limited=decision, retry_at=timezone.localtime(decision.retry_at))
        response = render(request, "cases/public/new_link.html", context, status=429)
        response["Retry-After"] = str(decision.retry_after_seconds)
        return response
    services.complaint_request_link(reference=form.cleaned_data["reference"], email=form.cleaned_data["email"])
    return render(request, "cases/public/new_link_sent.html", context)
