"""The letters of the appeals app, each with how its PDF is made from the database (see ``cases/letters.py``)."""

from __future__ import annotations

from appeals import services
from appeals.models import Appeal
from notifications.kinds import LetterKind
from notifications.models import Letter
from notifications.rendering import render_pdf


def _appeal(letter: Letter) -> Appeal:
    return Appeal.objects.select_related("complaint", "decided_by").get(complaint=letter.complaint_id)


def _acknowledgement(letter: Letter) -> bytes:
    appeal = _appeal(letter)
    context = {"complaint": appeal.complaint, "appeal": appeal, "letter_date": letter.created_at}
    return render_pdf("letters/appeal_acknowledgement.html", context)


def _decision(letter: Letter) -> bytes:
    appeal = _appeal(letter)
    context = services.decision_letter_context(
        appeal=appeal,
        decision=appeal.decision,
        reasons=appeal.decision_reasons,
        recommendations=appeal.recommendations,
        # In the order they were written in the decision form.
        actions=list(appeal.complaint.actions.filter(from_appeal=True).select_related("owner").order_by("pk")),
        issued_at=letter.created_at,
        decided_by=appeal.decided_by,
        new_outcome=appeal.new_outcome,
    )
    return render_pdf("letters/appeal_decision.html", context)


KINDS = (
    LetterKind(services.ACKNOWLEDGEMENT_LETTER, "Appeal acknowledgement letter", render=_acknowledgement),
    LetterKind(services.DECISION_LETTER, "Final decision on the appeal", render=_decision),
)
