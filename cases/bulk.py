"""Bulk work on the dashboard (issue 20, point 5): a complaints lead changes several cases at once.

Nothing here changes a case itself. Each selected case goes through the same service as its own case
page's form (``services.complaint_assign``, ``complaint_categorise``, ``complaint_extend_deadline``), in
its own transaction, with its own permission check, lock and timeline event, and with the revision the
dashboard showed: a case changed since the page was loaded is refused by the service (``StaleCase``) and
reported, never overwritten. One case refused does not stop the others; the result says, case by case,
what changed, what was already so, what changed meanwhile and what was refused and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError

from cases import permissions, services
from cases.models import Category, Complaint, TransitionNotAllowed

# At most one page of the dashboard at a time (its largest page size).
MAX_CASES = 100
# The longest bulk extension, in business days (a deadline is moved on for a reason, not indefinitely).
MAX_EXTENSION_DAYS = 20

CHANGED, ALREADY, STALE, REFUSED = "changed", "already", "stale", "refused"
STALE_WORDS = "changed since you loaded the page, not updated"


@dataclass(frozen=True)
class Selected:
    """A case ticked on the dashboard, with the revision its row showed."""

    pk: int
    revision: int

    @classmethod
    def parse(cls, value: str) -> Selected | None:
        """``"<pk>.<revision>"`` as the dashboard's checkbox sends it; None for anything else."""
        pk, dot, revision = value.partition(".")
        if not (dot and pk.isdigit() and revision.isdigit()) or len(value) > 30:
            return None
        return cls(int(pk), int(revision))


@dataclass(frozen=True)
class CaseResult:
    reference: str
    outcome: str  # CHANGED, ALREADY, STALE or REFUSED
    message: str = ""


@dataclass
class BulkResult:
    """What a bulk change did, case by case (kept in the session for the dashboard to show once)."""

    action: str  # what was asked, in words: "Assign to Maya Manager"
    cases: list[CaseResult] = field(default_factory=list)
    problem: str = ""  # why nothing was tried (no case ticked, no reason given...)
    missing: int = 0  # ticked cases not found among those the lead may see

    def of(self, outcome: str) -> list[CaseResult]:
        return [case for case in self.cases if case.outcome == outcome]

    @property
    def changed(self) -> list[CaseResult]:
        return self.of(CHANGED)

    @property
    def already(self) -> list[CaseResult]:
        return self.of(ALREADY)

    @property
    def stale(self) -> list[CaseResult]:
        return self.of(STALE)

    @property
    def refused(self) -> list[CaseResult]:
        return self.of(REFUSED)

    def as_data(self) -> dict:
        cases = [[c.reference, c.outcome, c.message] for c in self.cases]
        return {"action": self.action, "cases": cases, "problem": self.problem, "missing": self.missing}

    @classmethod
    def from_data(cls, data: dict) -> BulkResult:
        cases = [CaseResult(*case) for case in data["cases"]]
        return cls(data["action"], cases, data.get("problem", ""), data.get("missing", 0))


# A change to one case: calls its service with the revision seen; returns whether anything changed, and a note
# for the lead about that case ("" for none).
Change = Callable[[Complaint, int], tuple[bool, str]]


def _each(*, actor, selected: Sequence[Selected], action: str, change: Change) -> BulkResult:
    if not permissions.is_lead(actor):
        raise PermissionDenied("Only a complaints lead can change several cases at once.")
    if not selected:
        raise ValidationError({"cases": ["Tick the cases to change first."]})
    if len(selected) > MAX_CASES:
        raise ValidationError({"cases": [f"Change at most {MAX_CASES} cases at a time."]})
    wanted = {case.pk: case.revision for case in selected}
    found = Complaint.objects.visible_to(actor).filter(pk__in=wanted).order_by("reference")
    result = BulkResult(action)
    for complaint in found:
        try:
            changed, note = change(complaint, wanted[complaint.pk])
        except services.StaleCase:
            result.cases.append(CaseResult(complaint.reference, STALE, STALE_WORDS))
        except (ValidationError, TransitionNotAllowed, PermissionDenied) as refusal:
            result.cases.append(CaseResult(complaint.reference, REFUSED, _words(refusal)))
        else:
            result.cases.append(CaseResult(complaint.reference, CHANGED if changed else ALREADY, note))
    result.missing = len(wanted) - len(result.cases)
    return result


def _words(refusal: Exception) -> str:
    if isinstance(refusal, ValidationError):
        return " ".join(refusal.messages)
    return str(refusal) or "Your role does not allow this."


def complaints_bulk_assign(*, actor, selected: Sequence[Selected], assignee) -> BulkResult:
    """Assign every selected case to ``assignee`` (someone who works cases), each through ``complaint_assign``."""
    if assignee is None or not permissions.is_case_worker(assignee):
        raise ValidationError({"assignee": ["Choose someone who works cases."]})

    def change(complaint: Complaint, revision: int) -> tuple[bool, str]:
        done = services.complaint_assign(
            actor=actor, complaint=complaint, assignee=assignee, expected_revision=revision
        )
        return done.revision != revision, ""

    name = assignee.get_full_name() or assignee.get_username()
    return _each(actor=actor, selected=selected, action=f"Assign to {name}", change=change)


def complaints_bulk_categorise(*, actor, selected: Sequence[Selected], category: Category | None) -> BulkResult:
    """Give every selected case ``category`` (one in use), each through ``complaint_categorise``."""
    if category is None or not category.active:
        raise ValidationError({"category": ["Choose a category in use."]})

    def change(complaint: Complaint, revision: int) -> tuple[bool, str]:
        if complaint.category_id == category.pk and complaint.revision == revision:
            return False, ""  # already so: no second "Categorised" entry on its timeline
        services.complaint_categorise(actor=actor, complaint=complaint, category=category, expected_revision=revision)
        return True, ""

    return _each(actor=actor, selected=selected, action=f"Set the category to {category.name}", change=change)


def complaints_bulk_extend(*, actor, selected: Sequence[Selected], days: int | None, reason: str) -> BulkResult:
    """Move each selected case's owed due date on by ``days`` business days with one reason, each through
    ``complaint_extend_deadline`` (its rules: before the date passes; the client emailed the reason)."""
    errors = {}
    if days is None or not 1 <= days <= MAX_EXTENSION_DAYS:
        errors["days"] = [f"Extend by 1 to {MAX_EXTENSION_DAYS} business days."]
    if not reason.strip():
        errors["reason"] = ["Give the reason: each client is told it, word for word."]
    if errors:
        raise ValidationError(errors)

    def change(complaint: Complaint, revision: int) -> tuple[bool, str]:
        extension = services.complaint_extend_deadline(
            actor=actor, complaint=complaint, reason=reason, expected_revision=revision, by_business_days=days
        )
        told = "" if extension.notice_key else "no email address: tell the client by phone or post"
        return True, f"now due {extension.new_date:%a %-d %b %Y}" + (f"; {told}" if told else "")

    words = f"Extend by {days} business day{'s' if days != 1 else ''}"
    return _each(actor=actor, selected=selected, action=words, change=change)
