"""The satisfaction survey's workflows: sent once a complaint closes, answered once, declined for good.

What "closes" means (docs/specification.md): the complaint reaches ``closed`` after its outcome, either
because the time to appeal ended with no appeal (the deadline sweep, ``procedure.sweep``) or because the
Director decided its appeal (``appeals.services.appeal_decide``), whose decision is final. Both call
``surveys_queue`` in the transaction that closes the case. Nothing else sends a survey: a complaint
withdrawn, closed as not a complaint, or anonymised never gets one.

Who receives it: one person per complaint, so that every complaint counts once in the results: the first of
the case's email correspondents (``Complaint.email_recipients``: the client, or the representative when our
emails go to the representative only) who has not declined surveys. When everyone declined, or nobody has an
email address, no survey is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import RECIPIENT_FIELDS, Complaint
from notifications.kinds import kind_named
from notifications.models import OutboundMessage
from notifications.services import enqueue_delivery, sweep_grace
from satisfaction.models import Survey, SurveyOptOut, address_digest

MESSAGE_KIND = "satisfaction_survey"
DECLINED = "Not sent: the client declined satisfaction surveys"
COMMENT_LIMIT = 2000


def outbox_key(complaint_id: int) -> str:
    return f"complaint:{complaint_id}:satisfaction-survey"


def surveys_queue(complaint_ids: Iterable[int], *, at: datetime) -> list[Survey]:
    """Make the survey of each complaint just closed that should get one, with its email's outbox row.

    Call inside the transaction that closed them. Set-based: four statements whatever the number of
    cases (the sweep closes many at once). The emails are queued when the transaction commits.
    """
    kind_named(MESSAGE_KIND)  # unregistered: a programming error, before anything is written
    candidates = list(
        Complaint.objects.filter(
            pk__in=list(complaint_ids),
            status=Complaint.Status.CLOSED,
            anonymised_at__isnull=True,
            survey__isnull=True,
        )
        .exclude(outcome="")
        .only("pk", *RECIPIENT_FIELDS)
        .order_by("pk")
    )
    if not candidates:
        return []
    addresses = {person.email for case in candidates for person in case.email_recipients}
    declined = set(
        SurveyOptOut.objects.filter(digest__in=[address_digest(email) for email in addresses]).values_list(
            "digest", flat=True
        )
    )
    surveys, messages = [], []
    for case in candidates:
        person = next((p for p in case.email_recipients if address_digest(p.email) not in declined), None)
        if person is None:
            continue
        survey = Survey(complaint_id=case.pk, recipient=person.role, created_at=at)
        surveys.append(survey)
        messages.append(
            OutboundMessage(
                dedupe_key=outbox_key(case.pk),
                kind=MESSAGE_KIND,
                to_email=person.email,
                complaint_id=case.pk,
                client_visible=True,
                context={"survey": survey.public_id.hex, "recipient": person.role},
                next_attempt_at=at + sweep_grace(),
                created_at=at,
            )
        )
    if not surveys:
        return []
    # No conflicts to ignore: the cases were read without a survey, inside the transaction that closed them.
    Survey.objects.bulk_create(surveys)
    ids = [message.pk for message in OutboundMessage.objects.bulk_create(messages)]
    transaction.on_commit(lambda: _deliver(ids))
    return surveys


def _deliver(message_ids: list[int]) -> None:
    """Hand the new emails to the worker; with the broker down, stop: the outbox sweep sends the rest."""
    for message_id in message_ids:
        if not enqueue_delivery(message_id):
            return


# --- answering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    fair: int
    informed: int
    clear: int
    comment: str = ""

    def problems(self) -> dict[str, str]:
        found = {
            name: "Choose a number from 1 to 5."
            for name in Survey.QUESTIONS
            if not isinstance(getattr(self, name), int) or not 1 <= getattr(self, name) <= 5
        }
        if len(self.comment) > COMMENT_LIMIT:
            found["comment"] = f"Keep your comment to {COMMENT_LIMIT} characters, please."
        return found


class SurveyClosed(Exception):
    """The survey cannot take answers now (answered already, or its case anonymised): nothing was changed."""


def survey_answer(
    *, survey: Survey, answers: Answers, decline_more: bool = False, at: datetime | None = None
) -> Survey:
    """Record the answers, once: a compare-and-set on the unanswered row, so two posts of the same link (two tabs,
    a double click) record the first and refuse the second. ``decline_more``: no more surveys to this address.

    The link's age is the caller's check (``satisfaction.links``); the survey's state is checked here.
    """
    problems = answers.problems()
    if problems:
        raise ValidationError(problems)
    at = at or timezone.now()
    with transaction.atomic():
        updated = Survey.objects.filter(
            pk=survey.pk, answered_at__isnull=True, complaint__anonymised_at__isnull=True
        ).update(
            answered_at=at,
            fair=answers.fair,
            informed=answers.informed,
            clear=answers.clear,
            comment=answers.comment.strip(),
        )
        if updated != 1:
            raise SurveyClosed("This survey has already been answered.")
        if decline_more:
            _decline(survey, at=at)
    survey.refresh_from_db()
    return survey


# --- declining ------------------------------------------------------------------------------------


def surveys_decline(*, survey: Survey, at: datetime | None = None) -> bool:
    """The person a survey went to wants no more: their address joins the opt-out list (by its digest), and any
    survey email to it still waiting is not sent. Returns False if the address is unknown now (anonymised)."""
    with transaction.atomic():
        return _decline(survey, at=at or timezone.now())


def _decline(survey: Survey, *, at: datetime) -> bool:
    email = survey.complaint.correspondent(survey.recipient).email
    if not email or survey.complaint.anonymised_at is not None:
        return False
    SurveyOptOut.objects.get_or_create(digest=address_digest(email), defaults={"created_at": at})
    # The opt-out holds for a survey already queued to that address (a failing mail relay keeps one
    # waiting): it is marked not sent, and dealt with, so it is not listed among the failures to act on.
    OutboundMessage.objects.filter(
        kind=MESSAGE_KIND, state=OutboundMessage.State.PENDING, to_email__iexact=email
    ).update(state=OutboundMessage.State.FAILED, last_error=DECLINED, handled_at=at, claimed_until=None)
    return True


def has_declined(email: str) -> bool:
    return bool(email) and SurveyOptOut.objects.filter(digest=address_digest(email)).exists()


# --- data protection (procedure.retention) --------------------------------------------------------------


def surveys_anonymise(complaint_ids: list[int]) -> int:
    """Inside the anonymisation's transaction: the comment goes (the client's own words); the scores, which
    name nobody once the case is anonymised, stay for the figures."""
    return Survey.objects.filter(complaint_id__in=complaint_ids).exclude(comment="").update(comment="")
