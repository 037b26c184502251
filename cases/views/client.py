"""The client's secure case page, reached from the link in their emails: /track/<token>/.

The signed token in the address is the only key to the case (``cases.links``),
so every page here is sent with ``Cache-Control: no-store, private`` (no shared
or disk cache keeps it), ``X-Robots-Tag: noindex`` and a referrer policy that
keeps the address from ever reaching another site: ``no-referrer`` on pages
without a form, ``same-origin`` on a page with one (see ``FORM_REFERRER_POLICY``).

A good link shows the case as the client may see it: its state in plain words,
its dates, what they sent us and the client-visible timeline, never staff-only
events or staff names. A genuine link that has expired or been revoked offers one
thing: a new link emailed to the address on the case. Anything else is a 404
that says nothing about whether any case exists.

Once the outcome is issued, the page offers the appeal to the Director (the form
is ``appeals.views.client_appeal``) while the window is open, and afterwards
shows the appeal and its decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.roles import role_title
from cases import business_days, deadlines, links, services
from cases.downloads import private_file_response
from cases.forms_case import ClientMessageForm, ClientReplyForm, ClientWithdrawForm
from cases.models import CLIENT, Attachment, Complaint, ComplaintEvent, InformationRequest
from notifications import letters

Status = Complaint.Status

# How each state reads to the client: a short label and one sentence.
STATE_WORDS: dict[str, tuple[str, str]] = {
    Status.RECEIVED: (
        "Received",
        "We have your complaint. We will acknowledge it and give it to a manager to investigate.",
    ),
    Status.ACKNOWLEDGED: (
        "Acknowledged",
        "We have acknowledged your complaint and a manager will investigate it.",
    ),
    Status.INVESTIGATING: (
        "Being investigated",
        "A manager is investigating your complaint.",
    ),
    Status.AWAITING_CLIENT: (
        "Waiting for your reply",
        "We have asked you for more information. The investigation is paused until we hear from you.",
    ),
    Status.RESPONDED: (
        "Outcome sent",
        "We have sent you our written outcome.",
    ),
    Status.UNDER_APPEAL: (
        "Under appeal",
        "Your appeal is with our Director, whose decision will be final.",
    ),
    Status.CLOSED: (
        "Closed",
        "This complaint is closed.",
    ),
    Status.WITHDRAWN: (
        "Withdrawn",
        "This complaint was withdrawn.",
    ),
    Status.NOT_A_COMPLAINT: (
        "Closed",
        "We closed this without treating it as a complaint.",
    ),
    # Never shown by a link (it opens the main case: ``cases.links``); said plainly should it be.
    Status.MERGED: (
        "Joined to another complaint",
        "This complaint was joined to another one about the same matter, where we follow it.",
    ),
}


# A complaint closed by the Director's final decision on its appeal (see ``state_words``).
APPEAL_DECIDED_WORDS = (
    "Appeal decided",
    "Our Director has decided your appeal. The decision is final, and this complaint is now closed.",
)


REFERRER_POLICY = "no-referrer"
# A page that POSTs a form cannot use "no-referrer": browsers then send
# "Origin: null" with the form, and Django's CSRF check rightly refuses that
# origin (403). "same-origin" still sends nothing to any other site, so the
# token stays on our own server, which has the address anyway.
FORM_REFERRER_POLICY = "same-origin"


def private_page(view):
    """Headers for every page whose address carries a client's token.

    The view's template states the same referrer policy in a ``<meta>`` tag
    (``cases/client/_base.html``); a response may set its own ``Referrer-Policy``
    (a page with a form), which is kept.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store, private"
        response["X-Robots-Tag"] = "noindex"
        response.setdefault("Referrer-Policy", REFERRER_POLICY)
        return response

    return wrapper


def state_words(complaint: Complaint, appeal=None) -> tuple[str, str]:
    """The state's label and sentence; a complaint closed by the appeal decision says so."""
    if complaint.status == Status.CLOSED and appeal is not None and appeal.is_decided:
        return APPEAL_DECIDED_WORDS
    return STATE_WORDS[complaint.status]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    summary: str
    by_client: bool


def mask_email(address: str) -> str:
    """``ada@example.com`` -> ``a***@example.com``: enough for the owner to recognise."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def _case_context(complaint: Complaint) -> dict:
    """Everything the client may see of their case, and nothing else."""
    events = list(complaint.events.filter(client_visible=True).order_by("created_at", "pk"))
    timeline = [
        # Staff act as the company on this page: no staff names.
        TimelineEntry(at=event.created_at, summary=event.summary, by_client=event.actor_label == CLIENT)
        for event in events
    ]
    client_documents = list(complaint.attachments.filter(source=Attachment.Source.CLIENT).order_by("uploaded_at", "pk"))
    appeal = complaint.appeal_or_none
    label, explanation = state_words(complaint, appeal)
    # The complaint's own promise (``cases.deadlines``): its date is shown while its clock runs.
    owed = deadlines.owed(complaint) if complaint.status != Status.UNDER_APPEAL else None
    running = owed.due if owed is not None and owed.running else None
    has_outcome = complaint.status in (Status.RESPONDED, Status.CLOSED) and complaint.appeal_deadline is not None
    return {
        "complaint": complaint,
        "state_label": label,
        "state_explanation": explanation,
        "acknowledgement_due": running if owed and owed.deadline == deadlines.Deadline.ACKNOWLEDGEMENT else None,
        "outcome_due": running if owed and owed.deadline == deadlines.Deadline.OUTCOME else None,
        "outcome_paused": owed is not None and not owed.running,
        "documents": [d for d in client_documents if not d.for_appeal],
        "appeal_documents": [d for d in client_documents if d.for_appeal],
        "appeal": appeal,
        # "" while the client may appeal; why not, once there is an outcome and no appeal.
        "appeal_problem": complaint.appeal_problem() if has_outcome and appeal is None else None,
        "decision_days": settings.APPEAL_DECISION_DAYS,
        "timeline": timeline,
        # What they wrote to us besides answers (by email or here); each has a CLIENT_WROTE entry: no query without one.
        "client_messages": list(complaint.client_messages.all())
        if any(event.kind == ComplaintEvent.Kind.CLIENT_WROTE for event in events)
        else [],
        "may_withdraw": services.may_withdraw(complaint),
        # Our response in the page itself (the letter's words, for reading on a phone), with each promised
        # action's progress; only once there is one.
        "actions": _actions_shown(complaint) if complaint.outcome else [],
        # News we sent them that was not a question (each has an UPDATE_SENT entry: no query without one).
        "updates": list(complaint.updates.all())
        if any(event.kind == ComplaintEvent.Kind.UPDATE_SENT for event in events)
        else [],
        # Our questions and the client's own answers.
        "questions": list(complaint.information_requests.order_by("requested_at"))
        if any(event.kind == ComplaintEvent.Kind.INFORMATION_REQUESTED for event in events)
        else [],
        "letters": complaint.letters.filter(client_visible=True).only("pk", "kind", "created_at", "complaint_id"),
    }


@dataclass(frozen=True)
class ActionShown:
    """A promised action as the client reads it: what, who is responsible (their role, not their name), by when."""

    description: str
    responsible: str
    due: date
    done_on: date | None
    from_appeal: bool


def _actions_shown(complaint: Complaint) -> list[ActionShown]:
    actions = complaint.actions.select_related("owner").prefetch_related("owner__groups").order_by("from_appeal", "pk")
    return [
        ActionShown(
            description=action.description,
            responsible=role_title(group.name for group in action.owner.groups.all()),
            due=action.due_date,
            done_on=business_days.london_date(action.done_at) if action.done_at else None,
            from_appeal=action.from_appeal,
        )
        for action in actions
    ]


def client_complaint(request: HttpRequest, token: str) -> tuple[Complaint | None, HttpResponse | None]:
    """The case of a good token, or the answer every client page gives a bad one (expired: 410, forged: 404).

    For the other pages under /track/<token>/ (the appeal page in ``appeals.views``).
    """
    check = links.check_client_token(token)
    if check.ok:
        return check.complaint, None
    if check.stale_for is not None:
        return None, _link_expired(request, token)
    return None, _not_found(request)


def _not_found(request: HttpRequest) -> HttpResponse:
    # The same page for a forged token, a garbled one and one whose case is
    # gone: nothing here tells a visitor whether any case exists.
    return render(request, "cases/client/not_found.html", status=404)


def _link_expired(request: HttpRequest, token: str) -> HttpResponse:
    # 410 Gone, not 200: this address will never show the case again (an
    # expired signature or a revoked version cannot come back), and saying so
    # keeps link checkers, caches and our own monitoring from treating it as a
    # working page. Browsers show the page and its form as usual.
    response = render(
        request,
        "cases/client/link_expired.html",
        {"token": token, "referrer_policy": FORM_REFERRER_POLICY},
        status=410,
    )
    response["Referrer-Policy"] = FORM_REFERRER_POLICY
    return response


def _show_case(
    request: HttpRequest,
    token: str,
    complaint: Complaint,
    *,
    reply_form: ClientReplyForm | None = None,
    message_form: ClientMessageForm | None = None,
    not_waiting: bool = False,
    unsent_text: str = "",
    closed: bool = False,
    closed_text: str = "",
    status: int = 200,
) -> HttpResponse:
    """The case page: while we wait for the client, our question and the form to answer it; else, while the
    complaint or its appeal is open, the form to send us a message or documents."""
    context = _case_context(complaint)
    open_request = None
    if complaint.status == Status.AWAITING_CLIENT:
        open_request = complaint.information_requests.filter(answered_at__isnull=True).first()
    context.update(
        token=token,
        open_request=open_request,
        not_waiting=not_waiting,
        unsent_text=unsent_text,
        closed=closed,
        closed_text=closed_text,
    )
    has_form = False
    if open_request is not None:
        context["reply_form"] = reply_form or ClientReplyForm()
        has_form = True
    elif services.client_may_write(complaint):
        # What the client typed as an answer we no longer wait for is offered again as a message.
        context["message_form"] = message_form or ClientMessageForm(initial={"text": unsent_text})
        has_form = True
    if has_form:
        context["referrer_policy"] = FORM_REFERRER_POLICY
    response = render(request, "cases/client/case.html", context, status=status)
    if has_form:
        response["Referrer-Policy"] = FORM_REFERRER_POLICY
    return response


@private_page
@require_safe
def case_page(request: HttpRequest, token: str) -> HttpResponse:
    check = links.check_client_token(token)
    if check.ok:
        return _show_case(request, token, check.complaint)
    if check.stale_for is not None:
        return _link_expired(request, token)
    return _not_found(request)


@private_page
@require_POST
def reply(request: HttpRequest, token: str) -> HttpResponse:
    """The client answers our question (text and/or documents); the investigation resumes.

    Documents get the complaint form's checks, and valid ones are kept while the
    rest is corrected. If we are no longer waiting for an answer (sent twice, or
    the case moved on), nothing is saved and the page says so, showing the text back.
    """
    check = links.check_client_token(token)
    if not check.ok:
        return _link_expired(request, token) if check.stale_for is not None else _not_found(request)
    complaint = check.complaint
    typed = (request.POST.get("text") or "").strip()
    if complaint.status != Status.AWAITING_CLIENT:
        return _show_case(request, token, complaint, not_waiting=True, unsent_text=typed, status=409)
    form = ClientReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _show_case(request, token, complaint, reply_form=form, status=400)
    try:
        answered = services.complaint_client_reply(
            complaint=complaint, text=form.cleaned_data["text"], files=form.uploads()
        )
    except ValidationError as refusal:
        complaint.refresh_from_db()
        if complaint.status != Status.AWAITING_CLIENT:
            form.clear_staging()
            return _show_case(request, token, complaint, not_waiting=True, unsent_text=typed, status=409)
        form.add_error(None, refusal)
        form.stage_uploads()
        return _show_case(request, token, complaint, reply_form=form, status=400)
    form.clear_staging()
    complaint.refresh_from_db()
    notice = "Thank you: we have your answer and have started working on your complaint again."
    if complaint.outcome_due:
        due = f"{complaint.outcome_due:%A} {complaint.outcome_due.day} {complaint.outcome_due:%B %Y}"
        waited = answered.paused_business_days
        if waited:
            days = f"{waited} business day{'s' if waited != 1 else ''}"
            notice += f" As we waited {days}, our written outcome is now due by {due}."
        else:
            notice += f" Our written outcome is still due by {due}."
    messages.success(request, notice)
    response = redirect(reverse("client:case", args=[token]) + "#main")
    response.status_code = 303  # See Other: reloading the page never sends the answer again
    return response


@private_page
@require_POST
def write(request: HttpRequest, token: str) -> HttpResponse:
    """The client sends us a message or documents while the complaint or its appeal is open.

    If we are waiting for their answer, this is the answer (the clock restarts). Documents get the
    complaint form's checks. A closed case saves nothing and says so, showing the text back.
    """
    check = links.check_client_token(token)
    if not check.ok:
        return _link_expired(request, token) if check.stale_for is not None else _not_found(request)
    complaint = check.complaint
    if not services.client_may_write(complaint):
        return _show_case(
            request, token, complaint, closed=True, closed_text=(request.POST.get("text") or "").strip(), status=409
        )
    form = ClientMessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _show_case(request, token, complaint, message_form=form, status=400)
    try:
        written = services.client_write(complaint=complaint, text=form.cleaned_data["text"], files=form.uploads())
    except ValidationError as refusal:
        complaint.refresh_from_db()
        if not services.client_may_write(complaint):
            form.clear_staging()
            return _show_case(request, token, complaint, closed=True, closed_text=form.cleaned_data["text"], status=409)
        form.add_error(None, refusal)
        form.stage_uploads()
        return _show_case(request, token, complaint, message_form=form, status=400)
    form.clear_staging()
    if isinstance(written, InformationRequest):
        messages.success(request, "Thank you: we have your answer and have started working on your complaint again.")
    else:
        messages.success(request, "Thank you: your message has reached us. We will reply if it needs an answer.")
    response = redirect(reverse("client:case", args=[token]) + "#main")
    response.status_code = 303  # See Other: reloading the page never sends the message again
    return response


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request: HttpRequest, token: str) -> HttpResponse:
    """The client withdraws their complaint before our outcome: a confirmation page, then the withdrawal.

    Once it can no longer be withdrawn (an outcome sent, withdrawn already), the case page says why.
    """
    check = links.check_client_token(token)
    if not check.ok:
        return _link_expired(request, token) if check.stale_for is not None else _not_found(request)
    complaint = check.complaint
    if not services.may_withdraw(complaint):
        messages.warning(
            request, f"This complaint is {complaint.get_status_display().lower()}: it cannot be withdrawn."
        )
        return _see_case(token)
    form = ClientWithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.complaint_withdraw(complaint=complaint, reason=form.cleaned_data["reason"])
        except ValidationError as refusal:
            messages.warning(request, " ".join(refusal.messages))
            return _see_case(token)
        notice = "Your complaint is withdrawn. We have stopped working on it"
        notice += " and emailed you a confirmation." if complaint.email_recipients else "."
        messages.success(request, notice)
        return _see_case(token)
    context = {
        "complaint": complaint,
        "token": token,
        "form": form,
        "referrer_policy": FORM_REFERRER_POLICY,
        "reopen_days": settings.WITHDRAWAL_REOPEN_DAYS,
    }
    response = render(request, "cases/client/withdraw.html", context, status=400 if form.errors else 200)
    response["Referrer-Policy"] = FORM_REFERRER_POLICY
    return response


def _see_case(token: str) -> HttpResponse:
    response = redirect(reverse("client:case", args=[token]) + "#main")
    response.status_code = 303  # See Other: reloading the page never posts again
    return response


@private_page
@require_POST
def fresh_link(request: HttpRequest, token: str) -> HttpResponse:
    """Email a new link for the case of an expired one, to the address on the case only."""
    check = links.check_client_token(token)
    if check.ok:
        return redirect("client:case", token=token)
    complaint = check.stale_for
    if complaint is None:
        return _not_found(request)
    queued = services.complaint_send_fresh_link(complaint=complaint)
    recipients = complaint.email_recipients
    context = {
        "has_email": bool(recipients),
        "queued": queued,
        "masked_email": " and ".join(mask_email(person.email) for person in recipients),
        "several_addresses": len(recipients) > 1,
        "interval_minutes": int(services.FRESH_LINK_INTERVAL.total_seconds() // 60),
    }
    return render(request, "cases/client/link_sent.html", context)


@private_page
@require_safe
def document_download(request: HttpRequest, token: str, attachment_id: int) -> HttpResponse:
    """A document the client sent us on this case, back to them: only this token's case, only their own."""
    check = links.check_client_token(token)
    if not check.ok:
        return _link_expired(request, token) if check.stale_for is not None else _not_found(request)
    document = check.complaint.attachments.filter(pk=attachment_id, source=Attachment.Source.CLIENT).first()
    if document is None:
        return _not_found(request)
    return private_file_response(document.file, filename=document.original_name, content_type=document.content_type)


@private_page
@require_safe
def letter_download(request: HttpRequest, token: str, letter_id: int) -> HttpResponse:
    """A letter we sent on this case (outcome, ...), as a PDF download: only this token's case, only client letters."""
    check = links.check_client_token(token)
    if not check.ok:
        return _link_expired(request, token) if check.stale_for is not None else _not_found(request)
    letter = check.complaint.letters.filter(pk=letter_id, client_visible=True).first()
    if letter is None:
        return _not_found(request)
    letter.complaint = check.complaint  # for its download name, without another query
    letter = letters.letter_file(letter)  # made now if it was not stored after its commit
    return private_file_response(letter.file, filename=letter.download_name, content_type="application/pdf")
