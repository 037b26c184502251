"""The staff case page (issue 3, item 3): every detail, the timeline, notes and the actions allowed now.

One GET view shows the case; each change is its own POST view that parses one
form and calls one service. They all answer the same way:

* success: a notice (messages framework) and a 303 back to the case page;
* the form's own errors, or the service refusing (``ValidationError``,
  ``TransitionNotAllowed``): the case page again, the message next to the form,
  nothing changed;
* ``StaleCase`` (someone changed the case since the form was opened): the case
  page as it is now, a message listing what changed, and the form refilled with
  what the user typed, now against the new revision;
* ``PermissionDenied``: 404 if the user may no longer see the case at all, else
  the 403 page.

Cases are fetched only through ``cases.access.complaint_for_staff`` (404 for
anything the user may not see). Which buttons show is worked out from
``Complaint.TRANSITIONS`` and ``cases.permissions`` (``allowed_actions``), so
what is shown is what the services allow.

Opening the page is recorded in the audit trail by ``audit.middleware`` (the case
views' entries are in ``cases.audited``); changes are also events on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, CharField, IntegerField, Value
from django.forms import Textarea
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import forbidden, staff_required
from cases import business_days, deadlines, extensions, permissions, selectors, services
from cases.access import complaint_for_staff
from cases.downloads import private_file_response
from cases.forms_case import (
    AccessNeedsForm,
    AddDocumentsForm,
    AssignForm,
    CaseActionForm,
    CategoriseForm,
    ExtendDeadlineForm,
    MergeForm,
    NotAComplaintForm,
    NoteForm,
    PickUpForm,
    RecordAnswerForm,
    RelatedForm,
    ReopenForm,
    RepresentativeForm,
    RequestInformationForm,
    RevokeLinksForm,
    StartInvestigationForm,
    UnlinkForm,
    UpdateForm,
    WithdrawForm,
)
from cases.models import Attachment, Complaint, ComplaintEvent, InformationRequest, TransitionNotAllowed
from notifications.kinds import letter_kind_named
from notifications.models import Letter
from notifications.rendering import render_email

Status = Complaint.Status
# Changing a case needs the role that works cases; seeing it, the view permission.
WORK = permissions.WORK
# Logging an appeal that came by letter (a page of the appeals app, linked from the case page).
LOG_APPEAL = "appeals.log_appeal"
# Each form of the page, by prefix, with the flag of ``Allowed`` that offers it: a form is built
# only when the user may use it now. (Removing a related complaint's link is not here: the template
# draws one small form per link, and ``UnlinkForm`` only parses what one of them posts.)
FORMS: dict[str, tuple[type[CaseActionForm], str]] = {
    NoteForm.prefix: (NoteForm, "note"),
    AssignForm.prefix: (AssignForm, "assign"),
    PickUpForm.prefix: (PickUpForm, "pick_up"),
    StartInvestigationForm.prefix: (StartInvestigationForm, "start"),
    CategoriseForm.prefix: (CategoriseForm, "categorise"),
    RequestInformationForm.prefix: (RequestInformationForm, "request_information"),
    ExtendDeadlineForm.prefix: (ExtendDeadlineForm, "extend"),
    RevokeLinksForm.prefix: (RevokeLinksForm, "revoke_links"),
    NotAComplaintForm.prefix: (NotAComplaintForm, "not_a_complaint"),
    AddDocumentsForm.prefix: (AddDocumentsForm, "add_documents"),
    WithdrawForm.prefix: (WithdrawForm, "withdraw"),
    UpdateForm.prefix: (UpdateForm, "update"),
    AccessNeedsForm.prefix: (AccessNeedsForm, "access_needs"),
    ReopenForm.prefix: (ReopenForm, "reopen"),
    RecordAnswerForm.prefix: (RecordAnswerForm, "record_answer"),
    RelatedForm.prefix: (RelatedForm, "relate"),
    MergeForm.prefix: (MergeForm, "merge"),
}


# --- What this user may do now ------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    """The actions the case page offers; each mirrors the rule its service enforces."""

    note: bool = False
    assign: bool = False
    pick_up: bool = False
    start: bool = False
    categorise: bool = False
    request_information: bool = False
    outcome: bool = False
    extend: bool = False
    revoke_links: bool = False
    not_a_complaint: bool = False
    add_documents: bool = False
    withdraw: bool = False
    reopen: bool = False
    update: bool = False
    access_needs: bool = False
    record_answer: bool = False
    relate: bool = False
    merge: bool = False

    @property
    def any_change(self) -> bool:
        return any((self.assign, self.pick_up, self.start, self.request_information, self.outcome, self.reopen))

    def offers(self, prefix: str) -> bool:
        """Is the form with this prefix (``FORMS``) drawn on the page now?"""
        return prefix in FORMS and getattr(self, FORMS[prefix][1])


def allowed_actions(user, complaint: Complaint) -> Allowed:
    if not permissions.can_work_on(user, complaint):
        return Allowed()
    lead = permissions.is_lead(user)
    return Allowed(
        note=True,
        assign=lead and complaint.is_open and permissions.can_assign(user, complaint, None),
        pick_up=not lead and complaint.is_open and permissions.can_assign(user, complaint, user),
        # awaiting_client → investigating is the client's answer, not a button.
        start=complaint.status == Status.ACKNOWLEDGED and complaint.can_transition_to(Status.INVESTIGATING),
        categorise=True,
        request_information=complaint.status == Status.INVESTIGATING
        and complaint.can_transition_to(Status.AWAITING_CLIENT),
        outcome=complaint.status == Status.INVESTIGATING and complaint.can_transition_to(Status.RESPONDED),
        # The same rule as services.complaint_extend_deadline: a lead, before the owed due date passes.
        extend=lead and (owed_due(complaint) or date.min) >= business_days.london_today(),
        revoke_links=bool(complaint.email_recipients),
        # The same rule as services.complaint_close_not_a_complaint: a lead, while the case is open.
        not_a_complaint=lead and complaint.can_transition_to(Status.NOT_A_COMPLAINT),
        # The same rule as services.complaint_add_documents: anyone working the case, until it is anonymised.
        add_documents=complaint.anonymised_at is None,
        # The same rules as services.complaint_withdraw and complaint_reopen: a lead, before the outcome;
        # a lead, within the reopening time.
        withdraw=lead and services.may_withdraw(complaint),
        reopen=lead and services.may_reopen(complaint),
        # The same rule as services.complaint_send_update: while the complaint or its appeal is open.
        update=services.client_may_write(complaint),
        # Adjustments can be agreed whatever the state, until the personal data is removed.
        access_needs=complaint.anonymised_at is None,
        # The same rule as services.complaint_record_answer: while the case waits for the client.
        record_answer=complaint.status == Status.AWAITING_CLIENT,
        # The same rules as services.complaint_link_related and complaint_merge: anyone working the case links it;
        # a lead merges a duplicate, before its outcome.
        relate=True,
        merge=lead and services.may_merge(complaint),
    )


def owed_due(complaint: Complaint) -> date | None:
    """The due date of the promise owed now, running or stopped, the appeal's included (``cases.deadlines``).

    No query for the appeal: the access helper joined it.
    """
    owed = deadlines.owed(complaint)
    return owed.due if owed is not None else None


# --- Reading the page ----------------------------------------------------------------


def _case_url(complaint: Complaint) -> str:
    return reverse("staff:case", args=[complaint.reference])


@dataclass(frozen=True)
class CaseFile:
    """A document the client or staff added, or a letter we produced: the page lists them together."""

    is_letter: bool
    pk: int
    name: str
    size: int
    source: str
    at: datetime
    for_appeal: bool = False

    @property
    def source_label(self) -> str:
        return Attachment.Source(self.source).label.lower() if self.source else ""


def _case_files(complaint: Complaint) -> list[CaseFile]:
    """Attachments and letters of the case in one query (a UNION ALL of the two tables), oldest first.

    One query rather than two keeps the whole page within its fixed budget of
    queries (issue 3: at most 12 with the session and permission look-ups).
    """

    text, number = CharField(), IntegerField()
    attachments = (
        Attachment.objects.filter(complaint=complaint)
        .order_by()
        .annotate(row=Value("attachment", text))
        .values_list("row", "pk", "original_name", "size", "source", "uploaded_at", "for_appeal")
    )
    letters = (
        Letter.objects.filter(complaint=complaint)
        .order_by()
        .annotate(
            row=Value("letter", text),
            size=Value(0, number),
            source=Value("", text),
            for_appeal=Value(False, BooleanField()),
        )
        .values_list("row", "pk", "kind", "size", "source", "created_at", "for_appeal")
    )
    rows = attachments.union(letters, all=True).order_by("uploaded_at", "row", "pk")
    return [
        CaseFile(
            is_letter=row == "letter",
            pk=pk,
            name=letter_kind_named(name).label if row == "letter" else name,
            size=size,
            source=source,
            at=at,
            for_appeal=bool(for_appeal),
        )
        for row, pk, name, size, source, at, for_appeal in rows
    ]


def _page_data(complaint: Complaint) -> dict:
    """Everything the page lists, one query per list whatever its length."""
    events = list(complaint.events.all())
    requests = list(complaint.information_requests.select_related("requested_by"))
    files = _case_files(complaint)
    data = {
        "events": events,
        "latest_event_id": events[-1].pk if events else 0,
        "notes": list(complaint.notes.select_related("author")),
        "attachments": [f for f in files if not f.is_letter and not f.for_appeal],
        "appeal_attachments": [f for f in files if f.for_appeal],
        # No query of its own: ``complaint_for_staff`` joins the appeal (only a case under appeal or closed has one).
        "appeal": complaint.appeal_or_none,
        "letters": [f for f in files if f.is_letter],
        "requests": requests,
        "open_request": next((r for r in requests if r.answered_at is None), None),
        # Each message is recorded with a CLIENT_WROTE entry (services.client_wrote_by_email): no query without one.
        "client_messages": list(complaint.client_messages.all())
        if any(event.kind == ComplaintEvent.Kind.CLIENT_WROTE for event in events)
        else [],
        "bounces": [event for event in events if event.kind == ComplaintEvent.Kind.EMAIL_BOUNCED],
    }
    # Actions exist only with an outcome; the Director's final decision may add more (``from_appeal``).
    actions = list(complaint.actions.select_related("owner")) if complaint.outcome else []
    data["actions"] = [a for a in actions if not a.from_appeal]
    data["appeal_actions"] = [a for a in actions if a.from_appeal]
    # Who logged and who decided the appeal, as the timeline names them (no query for the users).
    data["appeal_people"] = {
        event.kind: event.actor_label
        for event in events
        if event.kind in (ComplaintEvent.Kind.APPEAL_RECEIVED, ComplaintEvent.Kind.APPEAL_DECIDED) and event.actor_id
    }
    return data


def _clock(complaint: Complaint) -> dict:
    """Where the deadline stands, in facts the template words."""
    today = business_days.london_today()
    stopped_since = None
    waited = 0
    if complaint.status == Status.AWAITING_CLIENT and complaint.clock_stopped_at:
        stopped_since = complaint.clock_stopped_at
        waited = max(
            business_days.business_days_between(
                business_days.effective_date(complaint.clock_stopped_at), business_days.effective_date(timezone.now())
            ),
            0,
        )
    return {"today": today, "due": complaint.current_due_date, "stopped_since": stopped_since, "waited": waited}


def _render(
    request,
    complaint: Complaint,
    *,
    data: dict | None = None,
    bound: CaseActionForm | None = None,
    changes: list | None = None,
    preview=None,
    status: int = 200,
):
    data = data if data is not None else _page_data(complaint)
    allowed = allowed_actions(request.user, complaint)
    initial = {"complaint": complaint, "latest_event_id": data["latest_event_id"]}
    # Only the forms the user may use now (the template draws no other).
    forms = {prefix: form_class(**initial) for prefix, (form_class, _flag) in FORMS.items() if allowed.offers(prefix)}
    refused = None
    if bound is not None:
        forms[bound.prefix] = bound
        if bound.errors:
            # The action may no longer be offered (the case moved on): the message then shows at the
            # top only, with what the user wrote, so that nothing typed is lost.
            shown = allowed.offers(bound.prefix)
            refused = {"form": bound, "shown": shown, "typed": [] if shown else _typed(bound)}
    context = {
        "complaint": complaint,
        **data,
        "allowed": allowed,
        "forms": forms,
        "clock": _clock(complaint),
        "received_effective": complaint.received_effective_date,
        "is_lead": permissions.is_lead(request.user),
        # Anyone who may see the case may download its letters (a manager posts the outcome to a client without email).
        "can_download_letters": True,
        "changes": changes,
        "refused": refused,
        "preview": preview,
        "outcome_days": settings.COMPLAINT_OUTCOME_DAYS,
        "appeal_decision_days": settings.APPEAL_DECISION_DAYS,
        "running_due": owed_due(complaint),
        "reopen_until": services.reopen_deadline(complaint),
        # Reusable paragraphs for the forms with a text to write (cached a minute), only when one is offered.
        "paragraphs": selectors.paragraphs() if allowed.update or allowed.request_information else [],
        "reopen_days": settings.WITHDRAWAL_REOPEN_DAYS,
        # What other apps hold about the case (the emails it came from...), for whoever may follow the links.
        "case_links": extensions.case_links_for(user=request.user, complaint=complaint),
        # The complaints related to this one, its main case or duplicates, the client's others (one query).
        "others": selectors.other_complaints(user=request.user, complaint=complaint),
        "can_log_appeal": data["appeal"] is None
        and complaint.status in (Status.RESPONDED, Status.CLOSED)
        and request.user.has_perm(LOG_APPEAL),
    }
    return render(request, "staff/case.html", context, status=status)


def _typed(form: CaseActionForm) -> list[tuple[str, str]]:
    """The free text a user typed into a form, as (label, text)."""
    typed = []
    for field in form.visible_fields():
        value = form.data.get(form.add_prefix(field.name), "")
        if isinstance(field.field.widget, Textarea) and value.strip():
            typed.append((field.label, value))
    return typed


@never_cache
@require_GET
@staff_required
def case_page(request, reference):
    """Every detail of one complaint, its timeline and notes, and the actions allowed now."""
    complaint = complaint_for_staff(request.user, reference)
    return _render(request, complaint)


# --- Changing the case ------------------------------------------------------------------


def _stale(request, form: CaseActionForm, complaint_ref: str):
    """Re-show the case as it is now, with what changed and the user's typing against the new revision."""
    complaint = complaint_for_staff(request.user, complaint_ref, permission=WORK)
    data = _page_data(complaint)
    seen = form.cleaned_data.get("seen_event") or 0
    changes = [event for event in data["events"] if event.pk > seen] if seen else []
    fresh = form.data.copy()
    fresh[form.add_prefix("expected_revision")] = str(complaint.revision)
    fresh[form.add_prefix("seen_event")] = str(data["latest_event_id"])
    fresh.pop("preview", None)
    again = type(form)(fresh)
    again.add_error(
        None,
        "Not saved: someone else changed this case while you were working on it. "
        "Check what changed (listed at the top of the page); your text is kept here, so you can send it again.",
    )
    return _render(request, complaint, data=data, bound=again, changes=changes or None, status=409)


# The button that inserts the chosen reusable paragraph into a form's text instead of sending it.
INSERT_PARAGRAPH = "insert_paragraph"


def _with_paragraph(form_class: type[CaseActionForm], data) -> CaseActionForm:
    """The form again, nothing sent, with the chosen paragraph added to the end of its text to edit."""
    prefix = form_class.prefix
    field = f"{prefix}-{form_class.paragraph_field}"
    return form_class(selectors.with_paragraph(data, field=field, chosen=data.get(f"{prefix}-paragraph", "")))


@dataclass(frozen=True)
class Done:
    """What a change says and where it lands, when not its fixed words and the case page (``_act``)."""

    message: str
    url: str


def _act(
    request,
    reference: str,
    form_class: type[CaseActionForm],
    perform,
    *,
    success: str,
    anchor: str = "",
    form: CaseActionForm | None = None,
):
    """Parse ``form_class`` from the POST (or take ``form``, bound already), call ``perform(complaint,
    cleaned_data)``, answer as the module says (``perform`` may return a ``Done`` to say where it lands)."""
    complaint = complaint_for_staff(request.user, reference, permission=WORK)
    if request.POST.get(INSERT_PARAGRAPH) and getattr(form_class, "paragraph_field", None):
        return _render(request, complaint, bound=_with_paragraph(form_class, request.POST))
    form = form if form is not None else form_class(request.POST)
    if not form.is_valid():
        return _render(request, complaint, bound=form, status=400)
    try:
        done = perform(complaint, form.cleaned_data)
    except services.StaleCase:
        return _stale(request, form, reference)
    except PermissionDenied as refusal:
        complaint.refresh_from_db()
        if not permissions.can_see(request.user, complaint):
            raise Http404("No such complaint.") from None
        return forbidden(request, str(refusal) or "Your role does not allow this.")
    except TransitionNotAllowed as refusal:
        complaint.refresh_from_db()
        form.add_error(None, str(refusal))
        return _render(request, complaint, bound=form, status=409)
    except ValidationError as refusal:
        complaint.refresh_from_db()
        form.add_error(None, refusal)
        return _render(request, complaint, bound=form, status=400)
    if isinstance(done, Done):
        messages.success(request, done.message)
        response = redirect(done.url)
    else:
        messages.success(request, success)
        response = redirect(_case_url(complaint) + anchor)
    response.status_code = 303  # See Other: reloading the page never posts again
    return response


@never_cache
@require_POST
@staff_required
def note_add(request, reference):
    return _act(
        request,
        reference,
        NoteForm,
        lambda complaint, data: services.complaint_add_note(actor=request.user, complaint=complaint, text=data["text"]),
        success="Note added.",
        anchor="#notes",
    )


@never_cache
@require_POST
@staff_required
def add_documents(request, reference):
    """Staff add documents to the case (a letter that came by post, scanned), recorded as who added them."""
    form = AddDocumentsForm(request.POST, request.FILES)

    def perform(complaint, data):
        services.complaint_add_documents(
            actor=request.user,
            complaint=complaint,
            files=form.uploads(),
            note=data["note"],
            # Documents conflict with no other change: added even if the case moved on since the page was read.
        )
        form.clear_staging()  # the documents kept from an earlier post are on the case now

    return _act(
        request, reference, AddDocumentsForm, perform, success="Documents added.", anchor="#attachments", form=form
    )


@never_cache
@require_POST
@staff_required
def record_answer(request, reference):
    """Record the answer the client gave by phone, by letter or in person: the investigation clock restarts."""
    form = RecordAnswerForm(request.POST, request.FILES)

    def perform(complaint, data):
        services.complaint_record_answer(
            actor=request.user,
            complaint=complaint,
            how=data["how"],
            text=data["text"],
            received_at=data["received_at"],
            files=form.uploads(),
            expected_revision=data["expected_revision"],
        )
        form.clear_staging()

    success = "Answer recorded. The investigation continues and its clock runs again."
    return _act(request, reference, RecordAnswerForm, perform, success=success, form=form)


@never_cache
@require_POST
@staff_required
def send_update(request, reference):
    """Send the client an update that is not a question (emailed, on their page; no clock changes)."""

    def perform(complaint, data):
        services.complaint_send_update(
            actor=request.user,
            complaint=complaint,
            text=data["text"],
            expected_revision=data["expected_revision"],
        )

    return _act(request, reference, UpdateForm, perform, success="Update sent to the client.")


@never_cache
@require_POST
@staff_required
def access_needs(request, reference):
    """Record the adjustments agreed with the client (on the timeline; large print changes the letters)."""

    def perform(complaint, data):
        services.complaint_set_access_needs(
            actor=request.user,
            complaint=complaint,
            needs=data["needs"],
            detail=data["detail"],
            expected_revision=data["expected_revision"],
        )

    return _act(request, reference, AccessNeedsForm, perform, success="Adjustments recorded.")


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def representative(request, reference):
    """Record, change or remove someone complaining on the client's behalf (anyone working the case)."""
    complaint = complaint_for_staff(request.user, reference, permission=WORK)
    if not permissions.can_work_on(request.user, complaint):
        return forbidden(
            request, "Only a complaints lead or the case's own manager can change who represents the client."
        )
    if complaint.anonymised_at is not None:
        return forbidden(request, "The personal data of this case was removed: nobody can be recorded on it.")
    status, stale_message = 200, ""
    if request.method == "GET":
        form = RepresentativeForm(complaint=complaint)
    else:
        removing = RepresentativeForm.REMOVE in request.POST
        form = RepresentativeForm(request.POST, complaint=complaint)
        revision = form.data.get(form.add_prefix("expected_revision"))
        if removing or form.is_valid():
            try:
                services.complaint_set_representative(
                    actor=request.user,
                    complaint=complaint,
                    representative=None if removing else form.representative,
                    expected_revision=int(revision) if revision and revision.isdigit() else -1,
                )
            except services.StaleCase as stale:
                # The case as it is now; the typing kept (when saving), against the new revision.
                current = stale.complaint
                fresh = form.data.copy()
                fresh[form.add_prefix("expected_revision")] = str(current.revision)
                form = (
                    RepresentativeForm(complaint=current) if removing else RepresentativeForm(fresh, complaint=current)
                )
                stale_message = "Not saved: someone else changed this case meanwhile. Check it, then save again."
                status = 409
            except ValidationError as refusal:
                form.add_error(None, refusal)
                status = 400
            else:
                done = "Representative removed." if removing else "Representative recorded."
                messages.success(request, done)
                return redirect(_case_url(complaint) + "#representative-heading", permanent=False)
        else:
            status = 400
    context = {"complaint": complaint, "form": form, "stale_message": stale_message}
    return render(request, "staff/case_representative.html", context, status=status)


@never_cache
@require_POST
@staff_required
def withdraw(request, reference):
    """A lead records a withdrawal the client made by phone or letter."""

    def perform(complaint, data):
        services.complaint_withdraw(
            actor=request.user,
            complaint=complaint,
            reason=data["reason"],
            expected_revision=data["expected_revision"],
        )

    success = "Withdrawal recorded. Every deadline has stopped; the client is emailed a confirmation."
    return _act(request, reference, WithdrawForm, perform, success=success)


@never_cache
@require_POST
@staff_required
def reopen(request, reference):
    """A lead reopens a withdrawal made by mistake; the deadlines resume as if paused."""

    def perform(complaint, data):
        services.complaint_reopen(
            actor=request.user,
            complaint=complaint,
            reason=data["reason"],
            expected_revision=data["expected_revision"],
        )

    return _act(request, reference, ReopenForm, perform, success="Reopened. The deadline runs again.")


@never_cache
@require_POST
@staff_required
def assign(request, reference):
    """A lead assigns or reassigns the case (or returns it to the unassigned queue)."""

    def perform(complaint, data):
        services.complaint_assign(
            actor=request.user,
            complaint=complaint,
            assignee=data["assignee"],
            expected_revision=data["expected_revision"],
        )

    return _act(request, reference, AssignForm, perform, success="Assignment saved.")


@never_cache
@require_POST
@staff_required
def pick_up(request, reference):
    """A manager takes an unassigned case."""

    def perform(complaint, data):
        services.complaint_assign(
            actor=request.user,
            complaint=complaint,
            assignee=request.user,
            expected_revision=data["expected_revision"],
        )

    return _act(request, reference, PickUpForm, perform, success="The case is now assigned to you.")


@never_cache
@require_POST
@staff_required
def start_investigation(request, reference):
    def perform(complaint, data):
        services.complaint_start_investigation(
            actor=request.user, complaint=complaint, expected_revision=data["expected_revision"]
        )

    return _act(request, reference, StartInvestigationForm, perform, success="Investigation started.")


@never_cache
@require_POST
@staff_required
def categorise(request, reference):
    def perform(complaint, data):
        services.complaint_categorise(
            actor=request.user,
            complaint=complaint,
            category=data["category"],
            expected_revision=data["expected_revision"],
        )

    return _act(request, reference, CategoriseForm, perform, success="Category saved.")


@never_cache
@require_POST
@staff_required
def request_information(request, reference):
    """Ask the client a question (the case waits and its clock stops), or preview the email first."""
    form = RequestInformationForm(request.POST)
    if form.wants_preview and not request.POST.get(INSERT_PARAGRAPH):
        complaint = complaint_for_staff(request.user, reference, permission=WORK)
        if not form.is_valid():
            return _render(request, complaint, bound=form, status=400)
        return _render(request, complaint, bound=form, preview=_preview(complaint, form.cleaned_data["message"]))

    def perform(complaint, data):
        services.complaint_request_information(
            actor=request.user,
            complaint=complaint,
            message=data["message"],
            expected_revision=data["expected_revision"],
        )

    return _act(
        request,
        reference,
        RequestInformationForm,
        perform,
        success="Question sent. The case is waiting for the client and its investigation clock has stopped.",
    )


@never_cache
@require_POST
@staff_required
def extend_deadline(request, reference):
    """A complaints lead moves the running due date on, with the reason the client is emailed."""

    def perform(complaint, data):
        services.complaint_extend_deadline(
            actor=request.user,
            complaint=complaint,
            new_date=data["new_date"],
            reason=data["reason"],
            expected_revision=data["expected_revision"],
        )

    return _act(
        request,
        reference,
        ExtendDeadlineForm,
        perform,
        success="Due date extended. The client is emailed the reason and the new date.",
        anchor="#deadlines",
    )


@never_cache
@require_POST
@staff_required
def revoke_links(request, reference):
    """Every secure link the client was sent stops working (for example, an email forwarded by mistake)."""

    def perform(complaint, data):
        services.complaint_revoke_client_links(
            actor=request.user, complaint=complaint, expected_revision=data["expected_revision"]
        )

    return _act(
        request,
        reference,
        RevokeLinksForm,
        perform,
        success="The client's secure links no longer work. An old link offers a fresh one, sent to the case's email.",
    )


@never_cache
@require_POST
@staff_required
def close_not_a_complaint(request, reference):
    """A complaints lead closes a case that is not a complaint: recorded, kept out of the figures, nobody emailed."""

    def perform(complaint, data):
        services.complaint_close_not_a_complaint(
            actor=request.user,
            complaint=complaint,
            reason=data["reason"],
            expected_revision=data["expected_revision"],
        )

    return _act(
        request,
        reference,
        NotAComplaintForm,
        perform,
        success="Closed as not a complaint. It is left out of the complaint figures; the sender was not told.",
    )


@never_cache
@require_POST
@staff_required
def link_related(request, reference):
    """Link another complaint to this one as related (both list each other)."""

    def perform(complaint, data):
        services.complaint_link_related(actor=request.user, complaint=complaint, reference=data["reference"])

    return _act(request, reference, RelatedForm, perform, success="Complaints linked.", anchor="#related")


@never_cache
@require_POST
@staff_required
def unlink_related(request, reference):
    """Remove the link between this complaint and a related one."""

    def perform(complaint, data):
        services.complaint_unlink_related(actor=request.user, complaint=complaint, reference=data["reference"])

    return _act(request, reference, UnlinkForm, perform, success="Link removed.", anchor="#related")


@never_cache
@require_POST
@staff_required
def merge(request, reference):
    """A complaints lead merges this duplicate into its main complaint, then lands on the main complaint."""

    def perform(complaint, data):
        result = services.complaint_merge(
            actor=request.user,
            complaint=complaint,
            into=data["reference"],
            same_client_confirmed=data["confirm_client"],
            expected_revision=data["expected_revision"],
        )
        copied = [
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in ((result.documents, "document"), (result.messages, "client message"))
            if n
        ]
        return Done(
            f"{complaint.reference} is closed as merged into {result.main.reference}"
            + (f"; {' and '.join(copied)} copied here" if copied else "")
            + ". Its secure links and the client's email replies lead here now.",
            _case_url(result.main) + "#related",
        )

    return _act(request, reference, MergeForm, perform, success="")


def _preview(complaint: Complaint, message: str):
    """The email the client would get, without saving or sending anything (the real one has their own link)."""

    draft = InformationRequest(complaint=complaint, message=message.strip(), requested_at=timezone.now())
    placeholder = f"{settings.SITE_URL}/track/(the client's own secure link)/"
    return render_email("information_request", {"complaint": complaint, "request": draft, "tracking_url": placeholder})


@never_cache
@require_GET
@staff_required
def attachment_download(request, reference, attachment_id):
    """A document on the case, for staff who may see the case; always a download."""
    complaint = complaint_for_staff(request.user, reference, permission="cases.view_attachment")
    attachment = get_object_or_404(Attachment, pk=attachment_id, complaint=complaint)
    return private_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )
