"""Data-protection pages for complaints leads (issue 7, points 6 and 7).

* ``case_audit``: a case's audit trail (who viewed, downloaded, exported or changed it), newest first.
* ``subject_access``: everything held about an email address, as a JSON file or a readable PDF.
  The address is posted, never put in a URL (URLs end up in server logs and browser history).
* ``case_anonymise``: remove one case's personal data at the client's request, with a reason,
  after a confirmation (POST only; the same service as the retention sweep).
* ``staff_sign_in``: the staff's second sign-in step; a lead resets a colleague's lost
  authenticator (``procedure.sign_in``), recorded in the audit trail.

And the operations pages (issue 19, point 7):

* ``readyz``: can the product work now (database, cache, broker, storage, mail relay)? 200 or 503 to
  anyone, with only "ready" or "not ready"; the details (each service, the oldest unsent email, the
  sweep's last run) only to an administrator signed in (see ``readyz``).
* ``operations_page``, ``message_resend``, ``message_handled``: the administrator's Operations page.

The data-protection pages are for complaints leads only (``cases.manage_all_complaints``): anyone else gets
the 403 page before any case is looked up, the same answer as for a case that does not exist.
The forms live here, next to the only views that use them.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import forbidden, staff_required
from audit.models import AuditEntry
from audit.services import audit_cases
from cases import permissions
from cases.access import complaint_for_staff
from cases.forms import AccessibleForm
from cases.models import Complaint
from notifications import services as outbox
from notifications.rendering import render_pdf
from procedure import operations, retention
from procedure.sign_in import staff_sign_in_list, staff_sign_in_reset

LEADS_ONLY = permissions.MANAGE_ALL
AUDIT_PAGE_SIZE = 50


class SubjectAccessForm(AccessibleForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="Every complaint made with this address is included (capital letters do not matter).",
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("pdf", "PDF, to read or post"), ("json", "JSON, machine-readable")],
        initial="pdf",
        widget=forms.RadioSelect,
    )


class AnonymiseForm(AccessibleForm):
    reason = forms.CharField(
        label="Reason",
        max_length=250,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept on the case's timeline: for example \u201cthe client asked by email on 3 May\u201d. "
        "Do not write the client's name or contact details.",
    )
    confirm = forms.BooleanField(
        label="I understand this removes the client's details, documents and letters for good.",
        required=True,
    )


@never_cache
@require_http_methods(["GET"])
@staff_required(permission=LEADS_ONLY)
def case_audit(request, reference):
    """A case's audit trail, newest first, 50 to a page."""
    complaint = complaint_for_staff(request.user, reference)
    page = Paginator(AuditEntry.objects.for_case(complaint), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "staff/audit/case_audit.html", {"complaint": complaint, "page": page})


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2})?)?$")


def readable(value):
    """The export with its ISO dates and times written for people (London time), for the PDF."""
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, str) and ISO_DATE.match(value):
        if "T" not in value:
            return f"{date.fromisoformat(value):%-d %B %Y}"
        return f"{timezone.localtime(datetime.fromisoformat(value)):%-d %B %Y, %H:%M}"
    return value


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(permission=LEADS_ONLY)
def subject_access(request):
    """Export everything held about an email address (a subject access request)."""
    if request.method != "POST":
        return render(request, "staff/privacy/subject_access.html", {"form": SubjectAccessForm()})
    form = SubjectAccessForm(request.POST)
    if not form.is_valid():
        return render(request, "staff/privacy/subject_access.html", {"form": form}, status=400)
    email, file_format = form.cleaned_data["email"], form.cleaned_data["file_format"]
    data = retention.subject_access_export(email=email)
    found = data["complaints"]
    description = f"Exported everything held about the client ({file_format.upper()})"
    audit_cases(
        request,
        action=AuditEntry.Action.EXPORT,
        description=description if found else "Searched for a subject access export: nothing held",
        complaints=Complaint.objects.filter(reference__in=[c["reference"] for c in found]).only("pk", "reference"),
    )
    if not found:
        return render(request, "staff/privacy/subject_access.html", {"form": form, "nothing_found": True}, status=200)
    stamp = timezone.localdate().isoformat()
    if file_format == "json":
        content = json.dumps(data, indent=2, ensure_ascii=False).encode()
        return _download(content, content_type="application/json", filename=f"subject-access-{stamp}.json")
    pdf = render_pdf(
        "staff/privacy/subject_access_pdf.html", {"data": readable(data), "produced": timezone.localtime()}
    )
    return _download(pdf, content_type="application/pdf", filename=f"subject-access-{stamp}.pdf")


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(permission=LEADS_ONLY)
def case_anonymise(request, reference):
    """Confirm, then remove the personal data of one case at the client's request."""
    complaint = complaint_for_staff(request.user, reference)
    context = {"complaint": complaint}
    if complaint.anonymised_at is not None:
        return render(request, "staff/privacy/anonymise.html", {**context, "done_already": True})
    if request.method != "POST":
        return render(request, "staff/privacy/anonymise.html", {**context, "form": AnonymiseForm()})
    form = AnonymiseForm(request.POST)
    if form.is_valid():
        try:
            retention.complaint_anonymise_on_request(
                actor=request.user, complaint=complaint, reason=form.cleaned_data["reason"]
            )
        except PermissionDenied as refusal:
            return forbidden(request, str(refusal))
        except ValidationError as refusal:
            if hasattr(refusal, "error_dict"):
                for field, errors in refusal.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, refusal)
        else:
            messages.success(request, "The case was anonymised: the client's details, documents and letters are gone.")
            response = redirect(reverse("staff:case", args=[complaint.reference]))
            response.status_code = 303
            return response
    return render(request, "staff/privacy/anonymise.html", {**context, "form": form}, status=400)


# --- Operations ---------------------------------------------------------------------------------


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when every service answers, 503 when one does not.

    Anyone (a load balancer, the monitoring) gets the status and ``{"status": ...}`` only, reused for
    ``READYZ_CACHE_SECONDS`` so that callers cannot make the site hammer its services. The details name
    the services, their errors and the outbox's and sweep's figures: nothing personal or secret, but a
    map of the outage for whoever probes, so they are for a signed-in administrator (who sees the same on
    the Operations page). Not "from localhost": behind a proxy on the same machine, every request is.
    """
    if request.user.is_authenticated and request.user.has_perm(outbox.OPERATE_OUTBOX):
        state = operations.readiness()
        return JsonResponse(state.details(), status=200 if state.ready else 503)
    ready = operations.is_ready()
    return JsonResponse({"status": "ready" if ready else "not ready"}, status=200 if ready else 503)


@never_cache
@require_GET
@staff_required(permission=outbox.OPERATE_OUTBOX)
def operations_page(request):
    """Emails that failed or bounced (resend or mark handled), the outbox backlog, the sweep's last run."""
    return render(request, "staff/operations.html", {"overview": operations.overview()})


def _act_on_message(request, action, message_id: int, done: str):
    try:
        action(message_id=message_id, user=request.user)
    except outbox.OutboxRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, done)
    return redirect("staff:operations")


@require_POST
@staff_required(permission=outbox.OPERATE_OUTBOX)
def message_resend(request, message_id: int):
    return _act_on_message(request, outbox.message_resend, message_id, "It is queued to be sent again.")


@require_POST
@staff_required(permission=outbox.OPERATE_OUTBOX)
def message_handled(request, message_id: int):
    return _act_on_message(request, outbox.message_mark_handled, message_id, "It is marked handled.")


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(permission=LEADS_ONLY)
def staff_sign_in(request):
    """Each colleague's second sign-in step; POST ``person``: reset their lost authenticator."""
    if request.method == "POST":
        person_id = request.POST.get("person", "")
        if not person_id.isdigit():
            return forbidden(request, "Choose whose sign-in to reset.")
        person = get_object_or_404(get_user_model(), pk=person_id, is_staff=True)
        try:
            staff_sign_in_reset(request=request, actor=request.user, person=person)
        except PermissionDenied as refusal:
            return forbidden(request, str(refusal))
        messages.success(
            request,
            f"{person.get_full_name() or person.get_username()} sets up an authenticator app again at their "
            "next sign-in; their recovery codes no longer work.",
        )
        return redirect("staff:staff_sign_in")
    return render(request, "staff/privacy/sign_in.html", {"people": staff_sign_in_list(actor=request.user)})
