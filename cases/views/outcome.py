"""The outcome of a complaint (issue 3, item 4): the outcome form, its letter preview, issuing it, and actions.

The form at /staff/complaints/<reference>/outcome/ has one button per step, each
posting the whole form to its own address:

* "Add another action" (``outcome``): the same form with one more action row,
  so no JavaScript is needed;
* "Preview letter" (``outcome_preview``): the letter exactly as the client will
  get it, on the page, with "Download preview PDF" and "Issue outcome" under it;
* "Download preview PDF" (``outcome_preview_pdf``): the PDF of the draft;
* "Issue outcome" (``outcome_issue``): ``services.complaint_issue_outcome``, only
  for the draft last previewed (its fingerprint travels in a hidden field) and
  against the case's revision when the form was opened.

The rules of an outcome are ``services.outcome_validate``'s; these views only
move what was typed between the page and the services. The actions promised in
outcome letters are tracked on /staff/actions/ until done.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import staff_required
from cases import permissions, selectors, services
from cases.access import complaint_for_staff
from cases.business_days import london_today
from cases.forms_outcome import OutcomeDraft, OutcomeEntry
from cases.models import Complaint, TransitionNotAllowed
from notifications.rendering import base_context

Status = Complaint.Status
ACTIONS_PER_PAGE = 25


def _see_other(url: str) -> HttpResponse:
    response = redirect(url)
    response.status_code = 303  # a reload of the next page never posts again
    return response


def _owners() -> list:
    """Everyone who may own an action: the staff who work cases (one query for every row)."""
    return list(permissions.assignable_users())


def _render(request, complaint: Complaint, entry: OutcomeEntry, *, letter: dict | None = None, status: int = 200):
    context = {
        "complaint": complaint,
        "entry": entry,
        "form": entry.form,
        "formset": entry.formset,
        "letter": letter,
        # The letter's own partials and context, as in the PDF (letters/outcome.html).
        "letter_html": render_to_string("letters/outcome_screen.html", {**base_context(), **letter}) if letter else "",
        "today": london_today(),
        "paragraphs": selectors.paragraphs(),
    }
    return render(request, "staff/outcome.html", context, status=status)


def _unavailable(request, complaint: Complaint, *, refused: bool):
    """The case is not under investigation: say why no outcome can be issued, and keep what was typed."""
    typed = None
    if refused:
        typed = {name: request.POST.get(name, "").strip() for name in ("findings", "reasons")}
    context = {"complaint": complaint, "refused": refused, "typed": typed}
    return render(request, "staff/outcome_unavailable.html", context, status=409 if refused else 200)


def _case_under_investigation(request, reference: str) -> tuple[Complaint, HttpResponse | None]:
    """The case (404 if the user may not work on it) and, if it is not under investigation, the page saying so.

    Roles without the work permission (directors) get the same 404 as for someone else's case.
    """
    complaint = complaint_for_staff(request.user, reference, permission=permissions.WORK)
    if complaint.status != Status.INVESTIGATING:
        return complaint, _unavailable(request, complaint, refused=request.method == "POST")
    return complaint, None


def _checked_draft(request, complaint: Complaint) -> tuple[OutcomeEntry, OutcomeDraft | None, HttpResponse | None]:
    """Parse the posted form and check it with outcome_validate; on any error, the form again with the errors."""
    entry = OutcomeEntry(request.POST, owners=_owners())
    if not entry.is_valid():
        return entry, None, _render(request, complaint, entry)
    draft = entry.draft()
    try:
        services.outcome_validate(**draft.as_kwargs(), root_cause_id=draft.root_cause_id)
    except ValidationError as error:
        entry.add_service_errors(error)
        return entry, None, _render(request, complaint, entry)
    return entry, draft, None


def _render_preview(request, complaint: Complaint, entry: OutcomeEntry, draft: OutcomeDraft, *, status: int = 200):
    """The page with the letter as the client will get it; "Issue outcome" will send exactly this draft."""
    letter = services.outcome_letter_context(complaint=complaint, issued_at=timezone.now(), **draft.as_kwargs())
    entry.set_hidden(previewed=draft.fingerprint(complaint))
    return _render(request, complaint, entry, letter={**letter, "is_preview": True}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def outcome_page(request, reference):
    """The outcome form; a POST ("Add another action") shows it again, as typed, with one more action row."""
    complaint, unavailable = _case_under_investigation(request, reference)
    if unavailable:
        return unavailable
    if request.method == "GET":
        entry = OutcomeEntry(owners=_owners(), revision=complaint.revision)
    elif request.POST.get("insert_paragraph"):
        # A reusable paragraph added to the findings, to edit (nothing is saved).
        data = selectors.with_paragraph(request.POST, field="findings", chosen=request.POST.get("paragraph", ""))
        entry = OutcomeEntry(data, owners=_owners())
    else:
        entry = OutcomeEntry(request.POST, owners=_owners(), add_row=True)
    return _render(request, complaint, entry)


@never_cache
@require_POST
@staff_required
def outcome_preview(request, reference):
    """The letter of the posted draft, shown on the page under the form (nothing is saved)."""
    complaint, unavailable = _case_under_investigation(request, reference)
    if unavailable:
        return unavailable
    entry, draft, invalid = _checked_draft(request, complaint)
    if invalid:
        return invalid
    return _render_preview(request, complaint, entry, draft)


@never_cache
@require_POST
@staff_required
def outcome_preview_pdf(request, reference):
    """The PDF of the posted draft, as the client would receive it but marked as a preview (nothing is saved)."""
    complaint, unavailable = _case_under_investigation(request, reference)
    if unavailable:
        return unavailable
    _entry, draft, invalid = _checked_draft(request, complaint)
    if invalid:
        return invalid
    pdf = services.outcome_letter_preview(actor=request.user, complaint=complaint, **draft.as_kwargs())
    response = HttpResponse(pdf, content_type="application/pdf")
    # Inline: staff read the draft in the browser's viewer; the name says what it is if they save it.
    response["Content-Disposition"] = f'inline; filename="{complaint.reference}-outcome-PREVIEW.pdf"'
    # A PDF shown in the browser's viewer: the page policy (object-src 'none') would stop the viewer.
    response._csp_exempt = True
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@require_POST
@staff_required
def outcome_issue(request, reference):
    """Issue the previewed outcome: the case becomes responded, the letter is kept and emailed (one only)."""
    complaint, unavailable = _case_under_investigation(request, reference)
    if unavailable:
        # Typically the second of two tabs: the outcome is out already, nothing is sent again.
        return unavailable
    entry, draft, invalid = _checked_draft(request, complaint)
    if invalid:
        return invalid
    if not entry.previewed_matches(draft.fingerprint(complaint)):
        entry.problem = "The letter has changed since you last previewed it. Read the new preview below, then issue it."
        return _render_preview(request, complaint, entry, draft)
    try:
        issued = services.complaint_issue_outcome(
            actor=request.user,
            complaint=complaint,
            expected_revision=entry.expected_revision,
            **draft.for_issue(),
        )
    except services.StaleCase as stale:
        if stale.complaint.status != Status.INVESTIGATING:
            # Another tab or a colleague got there first: one outcome only.
            return _unavailable(request, stale.complaint, refused=True)
        # Changed under us but still open: keep every word typed, take the new
        # revision, and ask for a fresh preview (the letter may read differently now).
        entry.problem = str(stale)
        entry.set_hidden(revision=stale.complaint.revision, previewed="")
        return _render(request, stale.complaint, entry, status=409)
    except TransitionNotAllowed:
        complaint.refresh_from_db()
        return _unavailable(request, complaint, refused=True)
    except ValidationError as error:
        entry.add_service_errors(error)
        return _render(request, complaint, entry)

    if issued.email_recipients:
        text = (
            f"Outcome issued for {issued.reference}: the letter is being emailed to {issued.email_addresses} as a PDF, "
            "and the client can also download it from their case page."
        )
    else:
        text = (
            f"Outcome issued for {issued.reference}. The client has no email address, so the letter must be "
            "posted: it is kept on this page with the case's letters, and on the client's case page."
        )
    messages.success(request, text)
    return _see_other(reverse("staff:case", args=[issued.reference]))


# --- Actions promised in outcome letters ---------------------------------------------


@never_cache
@require_GET
@staff_required(permission=permissions.WORK)
def actions_page(request):
    """Open actions, earliest due (so overdue) first: the user's own, or every one they may see."""
    lead = permissions.is_lead(request.user)
    whose = request.GET.get("whose")
    if whose not in ("mine", "all"):
        whose = "all" if lead else "mine"
    queryset = selectors.action_list_open(user=request.user, mine=whose == "mine")
    page = Paginator(queryset, ACTIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "actions": page.object_list,
        "whose": whose,
        "today": london_today(),
        "is_lead": lead,
        "next_url": request.get_full_path(),
    }
    return render(request, "staff/actions.html", context)


@require_POST
@staff_required(permission=permissions.WORK)
def action_mark_done(request, action_id):
    """Mark an open action done (its owner or a complaints lead), then back to where the button was."""
    action = selectors.action_for_staff(user=request.user, action_id=action_id)
    try:
        done = services.action_mark_done(actor=request.user, action=action)
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Marked done: {done.description[:80]} ({done.complaint.reference}).")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("staff:actions")
    return _see_other(next_url)
