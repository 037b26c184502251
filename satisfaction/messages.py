"""The survey's email: registered with the outbox (``notifications.kinds``) in ``SatisfactionConfig.ready``.

The link is made when the email is sent (``prepare`` only reads), so its 30 days run from the moment the
client receives it; the stored copy of the email has the token masked (``jpdit_complaints.log_privacy``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from cases.messages import case_of
from notifications.kinds import MessageKind
from notifications.models import OutboundMessage
from satisfaction import links
from satisfaction.models import SCORE_WORDS, Survey
from satisfaction.services import MESSAGE_KIND


def _survey(message: OutboundMessage, at: datetime) -> dict[str, Any]:
    complaint = case_of(message)
    survey = Survey.objects.get(public_id=message.context["survey"], complaint=complaint)
    addressee = complaint.correspondent(survey.recipient)
    return {
        "complaint": complaint,
        "addressee": addressee,
        "your": "the" if addressee.is_representative else "your",
        "survey_url": links.survey_url(survey),
        "decline_url": links.decline_url(survey),
        "questions": list(Survey.QUESTIONS.values()),
        "score_words": SCORE_WORDS,
        "survey_days": settings.SATISFACTION_LINK_MAX_AGE_DAYS,
    }


KINDS = (MessageKind(MESSAGE_KIND, "Satisfaction survey", template="satisfaction_survey", prepare=_survey),)
