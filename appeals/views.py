"""Pages where an appeal comes in: the client's appeal form and staff logging a letter or email.

* ``client_appeal`` (/track/<token>/appeal/): the client's secure page, answered
  like every page under /track/ (``cases.views.client``: private headers, 410 for
  an expired link, 404 for a forged one). It shows what goes to the Director (the
  original complaint and our response) and, while the appeal window is open and
  no appeal has been made, the form.
* ``appeal_log`` (/staff/complaints/<reference>/appeal/log/): a complaints lead
  records an appeal that came by letter or email, with its real time of receipt.

Views are thin: parse the form, call ``appeals.services.appeal_lodge`` or
``appeal_log``, render or redirect. The services hold every rule; a refusal
(``ValidationError``) comes back next to its field or at the top, nothing saved.
The Director's review and decision are in the admin (``appeals.admin``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.access import forbidden, staff_required
from appeals import permissions, services
from appeals.forms_intake import ClientAppealForm, StaffAppealForm
from cases import business_days
from cases.access import complaint_for_staff
from cases.models import Attachment, Complaint
from cases.services import OUTCOME_LETTER
from cases.views.client import FORM_REFERRER_POLICY, client_complaint, private_page

Status = Complaint.Status


def _see_other(url: str) -> HttpResponse:
    response = redirect(url)
    response.status_code = 303  # See Other: reloading the next page never posts again
    return response


def _day(value) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


# --- The client's appeal ------------------------------------------------------------------


def _client_page(
    request: HttpRequest,
    token: str,
    complaint: Complaint,
    *,
    form: ClientAppealForm | None,
    problem: str,
    unsent_text: str = "",
    status: int = 200,
) -> HttpResponse:
    """What goes to the Director with the appeal, and the form while the client may appeal."""

    context = {
        "complaint": complaint,
        "token": token,
        "problem": problem,
        "form": form if not problem else None,
        "unsent_text": unsent_text,
        "appeal": complaint.appeal_or_none,
        "outcome_letter": complaint.letters.filter(kind=OUTCOME_LETTER, client_visible=True).last(),
        "actions": list(complaint.actions.filter(from_appeal=False)) if complaint.outcome else [],
        "documents": complaint.attachments.filter(source=Attachment.Source.CLIENT, for_appeal=False),
        "acknowledgement_days": settings.APPEAL_ACKNOWLEDGEMENT_DAYS,
        "decision_days": settings.APPEAL_DECISION_DAYS,
    }
    if context["form"] is not None:
        context["referrer_policy"] = FORM_REFERRER_POLICY
    response = render(request, "appeals/client/appeal.html", context, status=status)
    if context["form"] is not None:
        response["Referrer-Policy"] = FORM_REFERRER_POLICY
    return response


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def client_appeal(request: HttpRequest, token: str) -> HttpResponse:
    """The client appeals to the Director: reasons and documents, within the window, once."""
    complaint, refusal = client_complaint(request, token)
    if refusal is not None:
        return refusal
    if request.method != "POST":
        problem = complaint.appeal_problem()
        return _client_page(request, token, complaint, form=ClientAppealForm(), problem=problem)

    typed = (request.POST.get("reasons") or "").strip()
    form = ClientAppealForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            appeal = services.appeal_lodge(
                complaint=complaint, reasons=form.cleaned_data["reasons"], files=form.uploads()
            )
        except ValidationError as error:
            form.add_service_errors(error)
            form.stage_uploads()
        else:
            form.clear_staging()
            messages.success(request, _received_notice(appeal))
            return _see_other(reverse("client:case", args=[token]) + "#appeal")
    complaint.refresh_from_db()
    problem = complaint.appeal_problem()
    if problem:
        # The window closed or an appeal was made meanwhile: nothing saved, and what they wrote shown back.
        form.clear_staging()
        return _client_page(request, token, complaint, form=None, problem=problem, unsent_text=typed, status=409)
    return _client_page(request, token, complaint, form=form, problem="", status=400)


def _received_notice(appeal) -> str:
    notice = "Thank you: we have received your appeal, and it is with our Director."
    days = settings.APPEAL_DECISION_DAYS
    if appeal.complaint.email_recipients:
        notice += (
            f" We will acknowledge it by email by {_day(appeal.acknowledgement_due)}. "
            f"The Director's final decision is due within {days} business days of that acknowledgement."
        )
    else:
        notice += f" The Director's final decision is due within {days} business days of our acknowledgement."
    return notice


# --- Staff log an appeal that came by letter or email ------------------------------------------


def log_problem(complaint: Complaint) -> str:
    """Why no appeal can be logged on this case, or "" (the service checks the same when it saves)."""
    if complaint.appeal_or_none is not None:
        return f"An appeal on {complaint.reference} has already been made. The Director's decision on it is final."
    if complaint.status not in (Status.RESPONDED, Status.CLOSED) or complaint.responded_at is None:
        return f"Complaint {complaint.reference} has no outcome to appeal against yet."
    return ""


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(permission=permissions.LOG)
def appeal_log(request: HttpRequest, reference: str) -> HttpResponse:
    """A complaints lead logs an appeal received by letter or email, with its real time of receipt."""
    complaint = complaint_for_staff(request.user, reference, permission=permissions.LOG)
    posted = request.method == "POST"
    form = StaffAppealForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        appeal_deadline=complaint.appeal_deadline,
    )
    problem = log_problem(complaint)
    status = 200
    if posted and problem:
        form.clear_staging()
        status = 409
    elif posted and form.is_valid():
        data = form.cleaned_data
        try:
            appeal = services.appeal_log(
                actor=request.user,
                complaint=complaint,
                channel=data["channel"],
                received_at=data["received_at"],
                reasons=data["reasons"],
                files=form.uploads(),
                late_reason=data["late_reason"],
            )
        except PermissionDenied as error:
            if not permissions.can_view(request.user, complaint):
                raise Http404("No such complaint.") from None
            return forbidden(request, str(error) or "Your role does not allow this.")
        except ValidationError as error:
            form.add_service_errors(error)
            form.stage_uploads()
            status = 400
        else:
            form.clear_staging()
            messages.success(request, _logged_notice(appeal))
            return _see_other(reverse("staff:case", args=[complaint.reference]) + "#appeal")
    elif posted:
        status = 400
    context = {
        "complaint": complaint,
        "form": form,
        "problem": problem,
        "today": business_days.london_today(),
        "acknowledgement_days": settings.APPEAL_ACKNOWLEDGEMENT_DAYS,
    }
    return render(request, "appeals/staff/log.html", context, status=status)


def _logged_notice(appeal) -> str:
    notice = f"Appeal logged. Its acknowledgement is due by {_day(appeal.acknowledgement_due)}"
    if appeal.complaint.email_recipients:
        notice += ", and goes to the client by email now."
    else:
        notice += (
            ": the client has no email address, so print the appeal acknowledgement letter (under Letters) and post it."
        )
    if appeal.late_reason:
        notice += " It was recorded as a late appeal, with your reason for accepting it."
    return notice
