"""The letters of the complaints app, each with how its PDF is made from the database.

Registered with ``notifications.kinds`` in ``CasesConfig.ready``. A letter's PDF is made
after the transaction that issued it commits, or later when first needed
(``notifications.letters``): so it is rendered from what the database holds, dated by the
letter's own ``created_at``, and reads the same whenever it is made.
"""

from __future__ import annotations

from cases import services
from notifications.kinds import LetterKind
from notifications.models import Letter
from notifications.rendering import render_pdf


def _acknowledgement(letter: Letter) -> bytes:
    return render_pdf("letters/acknowledgement.html", {"complaint": letter.complaint, "letter_date": letter.created_at})


def _outcome(letter: Letter) -> bytes:
    complaint = letter.complaint
    context = services.outcome_letter_context(
        complaint=complaint,
        outcome=complaint.outcome,
        findings=complaint.findings,
        reasons=complaint.outcome_reasons,
        # In the order they were written in the outcome form.
        actions=list(complaint.actions.filter(from_appeal=False).select_related("owner").order_by("pk")),
        issued_at=letter.created_at,
    )
    return render_pdf("letters/outcome.html", context)


KINDS = (
    LetterKind(services.ACKNOWLEDGEMENT_LETTER, "Acknowledgement letter", render=_acknowledgement),
    LetterKind(services.OUTCOME_LETTER, "Outcome letter", render=_outcome),
)
