"""Appeal workflows: keyword-only functions that own their transaction (docs/specification.md, "Appeal").

``Appeal.transition_to`` guards the state rule; these functions lock the rows,
check who may act, save, record the event on the complaint's timeline and queue
the messages, all in one transaction. The client's page, the staff pages and the
Director's admin call them and nothing else.

The rules that live here:

* an appeal is lodged only against an issued outcome, at most once per complaint,
  within the appeal window stated in the outcome letter; staff may log a late one
  (received after the window) only with the reason it was accepted;
* its acknowledgement is due ``APPEAL_ACKNOWLEDGEMENT_DAYS`` business days after
  receipt and the decision ``APPEAL_DECISION_DAYS`` after the acknowledgement;
* the decision is made by a Director who took no part in the investigation, is
  issued as a letter, closes the appeal and the complaint, and is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from appeals import permissions, webhooks
from appeals.models import Appeal
from cases import business_days
from cases import permissions as case_permissions
from cases.models import CLIENT, Attachment, Complaint, ComplaintEvent, actor_label
from cases.services import (
    ActionSpec,
    StaleCase,
    StoredDocument,
    action_problems,
    attachment_add,
    documents_stored,
    letter_issue_with_actions,
    message_to_client,
    record_event,
    root_cause_problem,
)
from cases.uploads import ValidatedUpload
from notifications import letters
from notifications.rendering import render_pdf
from notifications.services import message_queue
from satisfaction.services import surveys_queue

Status = Appeal.Status
# The letters this app issues (registered with their renderers in appeals/letters.py).
ACKNOWLEDGEMENT_LETTER = "appeal_acknowledgement"
DECISION_LETTER = "appeal_decision"
Event = ComplaintEvent.Kind
ComplaintStatus = Complaint.Status


# --- Lodging an appeal -----------------------------------------------------------------


def _require_reasons(reasons: str) -> str:
    reasons = reasons.strip()
    if not reasons:
        raise ValidationError(
            {"reasons": ["Tell us why you disagree with our decision: the Director needs your reasons."]}
        )
    return reasons


def _create_appeal(
    *,
    complaint: Complaint,
    channel: str,
    received_at: datetime,
    reasons: str,
    documents: Sequence[StoredDocument],
    logged_by=None,
    late_reason: str = "",
) -> Appeal:
    """Lock the complaint, put it under appeal and record the appeal, its documents and messages."""
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if Appeal.objects.filter(complaint=locked).exists():
        raise ValidationError(
            f"An appeal on {locked.reference} has already been made. The Director's decision on it is final."
        )
    if channel == Appeal.Channel.WEB:
        summary = "Appeal to the Director received through the client's case page"
    else:
        summary = (
            f"Appeal to the Director received by {channel} on {timezone.localtime(received_at):%-d %B %Y at %H:%M}"
        )
    if late_reason:
        summary += " (after the appeal window; accepted)"
    lodged = locked.transition(
        ComplaintStatus.UNDER_APPEAL,
        event=Event.APPEAL_RECEIVED,
        summary=summary,
        actor=logged_by,
        label=None if logged_by else CLIENT,
        client_visible=True,
    )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                complaint=locked,
                channel=channel,
                received_at=received_at,
                reasons=reasons,
                logged_by=logged_by,
                late_reason=late_reason,
                acknowledgement_due=business_days.due_date(received_at, settings.APPEAL_ACKNOWLEDGEMENT_DAYS),
            )
    except IntegrityError as error:  # the one-to-one: a concurrent appeal won
        raise ValidationError(f"An appeal on {locked.reference} has already been made.") from error
    for document in documents:
        attachment_add(
            complaint=locked,
            document=document,
            source=Attachment.Source.STAFF if logged_by else Attachment.Source.CLIENT,
            uploaded_by=logged_by,
            for_appeal=True,
        )
    appeal.complaint = locked
    webhooks.emit(webhooks.LODGED, lodged, appeal)
    _queue_acknowledgement(appeal, actor=logged_by)
    _notify_deciders(appeal)
    return appeal


def appeal_lodge(*, complaint: Complaint, reasons: str, files: Sequence[ValidatedUpload] = ()) -> Appeal:
    """The client appeals from their secure case page: responded → under_appeal.

    Only against an issued outcome, within the appeal window, once.
    """
    reasons = _require_reasons(reasons)
    with documents_stored(files, public_id=complaint.public_id) as documents, transaction.atomic(durable=True):
        now = timezone.now()
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
        problem = locked.appeal_problem(at=now)
        if problem:
            raise ValidationError(problem)
        return _create_appeal(
            complaint=locked, channel=Appeal.Channel.WEB, received_at=now, reasons=reasons, documents=documents
        )


def appeal_record_email(
    *,
    complaint: Complaint,
    reasons: str,
    received_at: datetime,
    documents: Sequence[StoredDocument],
    logged_by=None,
    late_reason: str = "",
) -> Appeal:
    """An appeal that came by email to appeals@: lodged as from the client's page, received when our server was.

    Call inside the caller's transaction, its documents already stored. From the case's own address,
    by itself: only within the appeal window. Logged by a complaints lead from the emails waiting
    for a person (``logged_by``): a late one too, with the reason it was accepted.
    """
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if logged_by is not None and not permissions.can_log(logged_by):
        raise PermissionDenied("Only complaints leads log appeals.")
    problem = locked.appeal_problem(at=received_at)
    window_closed = (
        locked.appeal_deadline is not None and business_days.london_date(received_at) > locked.appeal_deadline
    )
    late = logged_by is not None and window_closed and locked.appeal_or_none is None and locked.responded_at is not None
    if late and not late_reason.strip():
        closed = f"{locked.appeal_deadline:%-d %B %Y}"
        message = f"This appeal arrived after the window closed on {closed}: record why it is being accepted."
        raise ValidationError({"late_reason": [message]})
    if problem and not late:
        raise ValidationError(problem)
    return _create_appeal(
        complaint=locked,
        channel=Appeal.Channel.EMAIL,
        received_at=received_at,
        reasons=_require_reasons(reasons),
        documents=documents,
        logged_by=logged_by,
        late_reason=late_reason.strip() if late else "",
    )


def appeal_log(
    *,
    actor,
    complaint: Complaint,
    channel: str,
    received_at: datetime,
    reasons: str,
    files: Sequence[ValidatedUpload] = (),
    late_reason: str = "",
) -> Appeal:
    """Staff record an appeal that came by letter or email, with its real time of receipt.

    Deadlines run from ``received_at``. An appeal received after the window is
    accepted only with the reason for accepting it.
    """
    if not permissions.can_log(actor):
        raise PermissionDenied("Only complaints leads log appeals.")
    errors: dict[str, list[str]] = {}
    if channel not in (Appeal.Channel.EMAIL, Appeal.Channel.LETTER):
        errors["channel"] = ["Choose how the appeal arrived: by email or by letter."]
    if received_at > timezone.now():
        errors["received_at"] = ["The time of receipt cannot be in the future."]
    elif complaint.responded_at and received_at < complaint.responded_at:
        issued = timezone.localtime(complaint.responded_at)
        errors["received_at"] = [f"The outcome was issued on {issued:%-d %B %Y at %H:%M}: the appeal cannot be older."]
    if not reasons.strip():
        errors["reasons"] = ["Record the client's reasons for the appeal (copy them from the letter or email)."]
    deadline = complaint.appeal_deadline
    late = deadline is not None and business_days.london_date(received_at) > deadline
    if late and not late_reason.strip():
        errors["late_reason"] = [
            f"This appeal arrived after the window closed on {deadline:%-d %B %Y}: record why it is being accepted."
        ]
    if errors:
        raise ValidationError(errors)
    with documents_stored(files, public_id=complaint.public_id) as documents, transaction.atomic(durable=True):
        return _log(
            actor=actor,
            complaint=complaint,
            channel=channel,
            received_at=received_at,
            reasons=reasons.strip(),
            documents=documents,
            late_reason=late_reason.strip() if late else "",
        )


def _log(
    *,
    actor,
    complaint: Complaint,
    channel: str,
    received_at: datetime,
    reasons: str,
    documents: Sequence[StoredDocument],
    late_reason: str,
) -> Appeal:
    locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if not permissions.can_view(actor, locked):
        raise PermissionDenied("You do not have a role in this complaint.")
    if hasattr(locked, "appeal") or Appeal.objects.filter(complaint=locked).exists():
        raise ValidationError(
            f"An appeal on {locked.reference} has already been made. The Director's decision on it is final."
        )
    if locked.status not in (ComplaintStatus.RESPONDED, ComplaintStatus.CLOSED) or locked.responded_at is None:
        raise ValidationError(f"Complaint {locked.reference} has no outcome to appeal against yet.")
    return _create_appeal(
        complaint=locked,
        channel=channel,
        received_at=received_at,
        reasons=reasons,
        documents=documents,
        logged_by=actor,
        late_reason=late_reason,
    )


# --- Acknowledgement -------------------------------------------------------------------


def _queue_acknowledgement(appeal: Appeal, *, actor=None) -> None:
    """Email the acknowledgement on commit; with no email address, produce the letter to post now."""

    complaint = appeal.complaint
    if complaint.email_recipients:
        message_to_client(complaint, kind="appeal_acknowledgement", dedupe_key=f"appeal:{appeal.pk}:acknowledgement")
    else:
        appeal_acknowledgement_letter_issue(appeal=appeal, actor=actor)


def appeal_acknowledge(*, appeal: Appeal, at: datetime, actor=None, how: str = "email") -> Appeal:
    """received → acknowledged. The Director's 15 business days run from here.

    Called inside the transaction that sends the acknowledgement, so the appeal
    is acknowledged if and only if the acknowledgement went out.
    """
    with transaction.atomic():
        locked = Appeal.objects.select_for_update().select_related("complaint").get(pk=appeal.pk)
        locked.acknowledged_at = at
        locked.decision_due = business_days.due_date(at, settings.APPEAL_DECISION_DAYS)
        locked.transition(
            Status.ACKNOWLEDGED,
            event=Event.APPEAL_ACKNOWLEDGED,
            summary=f"Appeal acknowledged by {how}; the Director's decision is due {locked.decision_due:%-d %B %Y}",
            actor=actor,
            client_visible=True,
            at=at,
            fields=["acknowledged_at", "decision_due"],
        )
    return locked


def appeal_acknowledgement_letter_issue(*, appeal: Appeal, actor=None):
    """Acknowledge an appeal from a client with no email address by a letter to post."""

    now = timezone.now()
    appeal = appeal_acknowledge(appeal=appeal, at=now, actor=actor, how="letter")
    complaint = appeal.complaint
    letter = letters.letter_issue(complaint=complaint, kind=ACKNOWLEDGEMENT_LETTER, at=now)
    record_event(
        complaint,
        kind=Event.LETTER_ISSUED,
        summary="Appeal acknowledgement letter produced for posting",
        actor=actor,
        client_visible=True,
    )
    return letter


def _notify_deciders(appeal: Appeal) -> None:
    """Tell the Directors (or, if there are none, the complaints leads) that an appeal arrived."""

    recipients = list(permissions.deciders()) or list(case_permissions.leads())
    for user in recipients:
        if user.email:
            message_queue(
                kind="staff_new_appeal",
                dedupe_key=f"appeal:{appeal.pk}:new-appeal:user:{user.pk}",
                to_email=user.email,
                complaint=appeal.complaint,
                context={"recipient_name": actor_label(user)},
                client_visible=False,
            )


# --- The Director's review and decision ------------------------------------------------------


def _lock(*, actor, appeal: Appeal, expected_revision: int | None = None) -> Appeal:
    """Lock the complaint's row, then the appeal's (the order every change of both takes), and check who acts."""
    complaint = Complaint.objects.select_for_update().get(pk=appeal.complaint_id)
    locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
    locked.complaint = complaint
    problem = permissions.independence_problem(actor, locked.complaint)
    if problem:
        raise PermissionDenied(problem)
    if expected_revision is not None and locked.revision != expected_revision:
        raise StaleCase(locked.complaint)
    return locked


def _start_review(locked: Appeal, *, actor, at: datetime) -> None:
    locked.review_started_at = at
    locked.transition(
        Status.UNDER_REVIEW,
        event=Event.APPEAL_REVIEW_STARTED,
        summary="The Director is reviewing the appeal",
        actor=actor,
        client_visible=True,
        at=at,
        fields=["review_started_at"],
    )


@transaction.atomic
def appeal_start_review(*, actor, appeal: Appeal, expected_revision: int | None = None) -> Appeal:
    """acknowledged → under_review, by a Director independent of the investigation."""
    locked = _lock(actor=actor, appeal=appeal, expected_revision=expected_revision)
    _start_review(locked, actor=actor, at=timezone.now())
    return locked


def decision_validate(
    *,
    decision: str,
    reasons: str,
    actions: Sequence[ActionSpec],
    new_outcome: str = "",
    complaint=None,
    new_root_cause_id: int | None = None,
) -> None:
    """The rules of a final decision: a decision, its reasons, and complete actions; a changed decision says
    what the outcome is now (not what it was), and an outcome that finds fault has an action to put it right."""
    errors: dict[str, list[str]] = {}
    if decision not in Appeal.Decision.values:
        errors["decision"] = ["Choose whether the original decision is upheld or changed."]
    elif decision == Appeal.Decision.ORIGINAL_DECISION_CHANGED:
        original = complaint.outcome if complaint is not None else ""
        if new_outcome not in Complaint.Outcome.values:
            errors["new_outcome"] = ["Choose what the outcome is now: upheld, partially upheld or not upheld."]
        elif new_outcome == original:
            label = Complaint.Outcome(original).label.lower()
            errors["new_outcome"] = [f"The original outcome was already {label}: choose the outcome it changes to."]
        elif (
            new_outcome in (Complaint.Outcome.UPHELD, Complaint.Outcome.PARTIALLY_UPHELD)
            and not actions
            and complaint is not None
            and not complaint.actions.exists()
        ):
            errors["actions"] = ["An upheld outcome needs at least one action: what we will do to put it right."]
        # A changed outcome names why the complaint arose, as the Director found it (the same list as outcomes).
        cause = root_cause_problem(new_root_cause_id)
        if cause:
            errors["new_root_cause"] = [cause]
    if not reasons.strip():
        errors["reasons"] = ["Give the reasons for the decision: the client is entitled to know them."]
    # The same checks an outcome letter's actions get (kind, description, owner, due date).
    problems = action_problems(actions)
    if problems:
        errors["actions"] = [*errors.get("actions", []), *problems]
    if errors:
        raise ValidationError(errors)


def decision_letter_context(
    *,
    appeal: Appeal,
    decision: str,
    reasons: str,
    recommendations: str,
    actions,
    issued_at,
    decided_by,
    new_outcome: str = "",
):
    """What the final decision letter shows; the same for the preview and the letter sent."""
    changed = decision == Appeal.Decision.ORIGINAL_DECISION_CHANGED and new_outcome in Complaint.Outcome.values
    return {
        "complaint": appeal.complaint,
        "appeal": appeal,
        "decision": decision,
        "decision_label": Appeal.Decision(decision).label if decision in Appeal.Decision.values else "",
        # What changed: the outcome as it was and as it is now.
        "original_outcome_label": appeal.complaint.get_outcome_display() if changed else "",
        "new_outcome_label": Complaint.Outcome(new_outcome).label if changed else "",
        "reasons": reasons,
        "recommendations": recommendations,
        "actions": actions,
        "letter_date": issued_at,
        "signatory": decided_by,
    }


def decision_letter_preview(
    *, actor, appeal: Appeal, decision, reasons, recommendations, actions, new_outcome: str = ""
) -> bytes:
    """The PDF the client would receive, from a draft, saving nothing."""

    problem = permissions.independence_problem(actor, appeal.complaint)
    if problem:
        raise PermissionDenied(problem)
    context = decision_letter_context(
        appeal=appeal,
        decision=decision,
        reasons=reasons,
        recommendations=recommendations,
        actions=actions,
        issued_at=timezone.now(),
        decided_by=actor,
        new_outcome=new_outcome,
    )
    return render_pdf("letters/appeal_decision.html", {**context, "is_preview": True})


@transaction.atomic
def appeal_decide(
    *,
    actor,
    appeal: Appeal,
    decision: str,
    reasons: str,
    recommendations: str = "",
    actions: Sequence[ActionSpec] = (),
    new_outcome: str = "",
    new_root_cause_id: int | None = None,
    new_lesson: str = "",
    expected_revision: int | None = None,
) -> Appeal:
    """under_review → decided, and the complaint under_appeal → closed. Final.

    Only a Director who took no part in the investigation may decide. The final
    decision letter is kept on the case and emailed with the PDF attached; its
    actions are tracked with the outcome's. Nothing about the decision can be
    changed afterwards, and no further appeal is possible (one per complaint).
    """

    decision_validate(
        decision=decision,
        reasons=reasons,
        actions=actions,
        new_outcome=new_outcome,
        complaint=appeal.complaint,
        new_root_cause_id=new_root_cause_id,
    )
    locked = _lock(actor=actor, appeal=appeal, expected_revision=expected_revision)
    now = timezone.now()
    if locked.status == Status.ACKNOWLEDGED:
        _start_review(locked, actor=actor, at=now)
    locked.decision = decision
    changed = decision == Appeal.Decision.ORIGINAL_DECISION_CHANGED
    locked.new_outcome = new_outcome if changed else ""
    locked.new_root_cause_id = new_root_cause_id if changed else None
    locked.new_lesson = new_lesson.strip() if changed else ""
    locked.decision_reasons = reasons.strip()
    locked.recommendations = recommendations.strip()
    locked.decided_at = now
    locked.decided_by = actor
    decided = locked.transition(
        Status.DECIDED,
        event=Event.APPEAL_DECIDED,
        summary=f"Final decision on the appeal issued: {Appeal.Decision(decision).label.lower()}"
        + (
            f" (the outcome is now {Complaint.Outcome(locked.new_outcome).label.lower()})" if locked.new_outcome else ""
        ),
        actor=actor,
        client_visible=True,
        at=now,
        fields=[
            "decision",
            "new_outcome",
            "new_root_cause",
            "new_lesson",
            "decision_reasons",
            "recommendations",
            "decided_at",
            "decided_by",
        ],
    )
    complaint = locked.complaint
    complaint.transition(
        ComplaintStatus.CLOSED,
        event=Event.CLOSED,
        summary="Complaint closed: the Director's decision on its appeal is final",
        actor=actor,
        at=now,
    )
    webhooks.emit(webhooks.DECIDED, decided, locked)
    # Closed for good after its outcome: the client is asked how we handled it (satisfaction.services).
    surveys_queue([complaint.pk], at=now)
    letter_issue_with_actions(
        complaint=complaint,
        actions=actions,
        from_appeal=True,
        letter_kind=DECISION_LETTER,
        message_kind="appeal_decision_letter",
        dedupe_key=f"appeal:{locked.pk}:decision-letter",
        at=now,
    )
    return locked
