"""The complaints leads' email pages: the messages waiting for a person, and each one with its actions.

Every page is for complaints leads only (``inbound.handle_inboundemail``). A message is shown as
plain text, never rendered; its raw .eml is a download, as evidence. Each action posts to its own
address and calls one service (``inbound.services``); the service refuses anything already dealt with.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import forbidden, staff_required
from cases.business_days import london_today
from cases.downloads import private_file_response
from cases.services import ComplaintDetails
from inbound import selectors, services
from inbound.forms import AppealForm, OpenAsComplaintForm, ReasonForm, ReferenceForm
from inbound.models import InboundEmail

HANDLE = "inbound.handle_inboundemail"
PER_PAGE = 50


def _see_other(url: str) -> HttpResponse:
    response = redirect(url)
    response.status_code = 303  # a reload of the next page never posts again
    return response


@never_cache
@require_GET
@staff_required(permission=HANDLE)
def email_list(request: HttpRequest) -> HttpResponse:
    which = request.GET.get("list", "waiting")
    if which not in selectors.LISTS:
        which = "waiting"
    page = Paginator(selectors.email_list(which), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "emails": page.object_list,
        "which": which,
        "lists": [(key, label) for key, (label, _states) in selectors.LISTS.items()],
        "today": london_today(),
    }
    return render(request, "inbound/list.html", context)


def _forms(shown: selectors.EmailShown, data=None, bound=None) -> dict:
    email = shown.email
    forms = {
        "open": OpenAsComplaintForm(
            prefix="open",
            initial={
                "name": email.from_name or email.from_address.partition("@")[0],
                "email": email.from_address,
                "description": "\n\n".join(part for part in (email.subject, shown.text) if part),
            },
        ),
        "attach": ReferenceForm(
            prefix="attach", initial={"reference": email.complaint.reference if email.complaint else ""}
        ),
        "appeal": AppealForm(
            prefix="appeal", initial={"reference": email.complaint.reference if email.complaint else ""}
        ),
        "reject": ReasonForm(prefix="reject"),
    }
    if bound is not None:
        forms[bound.prefix] = bound
    return forms


def _page(request, email_id: int, *, bound=None, status: int = 200) -> HttpResponse:
    shown = selectors.email_for_staff(email_id)
    context = {"shown": shown, "email": shown.email, "forms": _forms(shown, bound=bound), "today": london_today()}
    return render(request, "inbound/email.html", context, status=status)


@never_cache
@require_GET
@staff_required(permission=HANDLE)
def email_page(request: HttpRequest, email_id: int) -> HttpResponse:
    return _page(request, email_id)


@never_cache
@require_GET
@staff_required(permission=HANDLE)
def email_download(request: HttpRequest, email_id: int) -> HttpResponse:
    """The message exactly as it arrived (evidence): always a download, never shown in the browser."""
    email = selectors.email_for_staff(email_id).email
    if not email.raw:
        raise Http404("Nothing of this message was kept.")
    return private_file_response(email.raw, filename=email.download_name, content_type="message/rfc822")


def _act(request, email_id: int, form, perform, *, success: str) -> HttpResponse:
    email = selectors.email_for_staff(email_id).email
    if not form.is_valid():
        return _page(request, email_id, bound=form, status=400)
    try:
        done = perform(email, form.cleaned_data)
    except services.AlreadyHandled as refusal:
        messages.error(request, str(refusal))
        return _see_other(reverse("staff:email", args=[email_id]))
    except PermissionDenied as refusal:
        return forbidden(request, str(refusal))
    except ValidationError as refusal:
        if hasattr(refusal, "error_dict"):
            for field, errors in refusal.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, refusal)
        return _page(request, email_id, bound=form, status=400)
    messages.success(request, success)
    if hasattr(done, "reference"):
        return _see_other(reverse("staff:case", args=[done.reference]))
    return _see_other(reverse("staff:email_list"))


@never_cache
@require_POST
@staff_required(permission=HANDLE)
def email_open(request: HttpRequest, email_id: int) -> HttpResponse:
    def perform(email: InboundEmail, data: dict):
        details = ComplaintDetails(name=data["name"], email=data["email"], description=data["description"])
        return services.email_open_as_complaint(actor=request.user, email=email, details=details)

    form = OpenAsComplaintForm(request.POST, prefix="open")
    return _act(request, email_id, form, perform, success="Opened as a complaint. The acknowledgement goes by email.")


@never_cache
@require_POST
@staff_required(permission=HANDLE)
def email_attach(request: HttpRequest, email_id: int) -> HttpResponse:
    def perform(email: InboundEmail, data: dict):
        return services.email_attach_to_case(actor=request.user, email=email, reference=data["reference"])

    form = ReferenceForm(request.POST, prefix="attach")
    return _act(request, email_id, form, perform, success="Added to the case as the client's message.")


@never_cache
@require_POST
@staff_required(permission=HANDLE)
def email_appeal(request: HttpRequest, email_id: int) -> HttpResponse:
    def perform(email: InboundEmail, data: dict):
        return services.email_log_as_appeal(
            actor=request.user, email=email, reference=data["reference"], late_reason=data["late_reason"]
        )

    form = AppealForm(request.POST, prefix="appeal")
    return _act(request, email_id, form, perform, success="Logged as the appeal. Its acknowledgement goes by email.")


@never_cache
@require_POST
@staff_required(permission=HANDLE)
def email_not_a_complaint(request: HttpRequest, email_id: int) -> HttpResponse:
    def perform(email: InboundEmail, data: dict):
        return services.email_mark_not_a_complaint(actor=request.user, email=email, reason=data["reason"])

    form = ReasonForm(request.POST, prefix="reject")
    return _act(request, email_id, form, perform, success="Marked as not a complaint. The sender is not told.")


@never_cache
@require_POST
@staff_required(permission=HANDLE)
def email_release(request: HttpRequest, email_id: int) -> HttpResponse:
    email = selectors.email_for_staff(email_id).email
    try:
        services.email_release(actor=request.user, email=email)
    except (services.AlreadyHandled, ValidationError) as refusal:
        messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))
    else:
        messages.success(request, "Released: the message was read again as a person's.")
    return _see_other(reverse("staff:email", args=[email_id]))
