"""The survey's link: signed as the client's case link is (``cases.links.sign``), expiring, single use.

The token names the survey (its public id, never the case's). It is made when the email is sent
(``satisfaction.messages``) and lasts ``SATISFACTION_LINK_MAX_AGE_DAYS``; once the survey is answered, the
same link shows the thanks and accepts nothing more. It opens nothing but the survey: no case, no letter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases.links import sign, unsign
from satisfaction.models import Survey

SALT = "satisfaction.survey-link.v1"


def survey_token(survey: Survey) -> str:
    return sign([survey.public_id.hex], salt=SALT)


def survey_url(survey: Survey) -> str:
    return settings.SITE_URL + reverse("public:survey", args=[survey_token(survey)])


def decline_url(survey: Survey) -> str:
    return settings.SITE_URL + reverse("public:survey_decline", args=[survey_token(survey)])


def max_age() -> timedelta:
    return timedelta(days=settings.SATISFACTION_LINK_MAX_AGE_DAYS)


class LinkState(enum.Enum):
    OPEN = "open"  # the survey may be answered
    ANSWERED = "answered"  # single use: answered already
    EXPIRED = "expired"  # genuine, but too old
    INVALID = "invalid"  # forged, mistyped, or its case's personal data removed


@dataclass(frozen=True)
class SurveyLink:
    state: LinkState
    survey: Survey | None = None


def check_survey_token(token: str) -> SurveyLink:
    """What a survey link is now. A survey whose case was anonymised is no longer anybody's: invalid."""
    signed = unsign(token, salt=SALT, max_age=max_age())
    survey = _survey_for(signed.values)
    if survey is None or survey.complaint.anonymised_at is not None:
        return SurveyLink(LinkState.INVALID)
    if survey.is_answered:
        return SurveyLink(LinkState.ANSWERED, survey)
    if signed.expired:
        return SurveyLink(LinkState.EXPIRED, survey)
    return SurveyLink(LinkState.OPEN, survey)


def _survey_for(values) -> Survey | None:
    try:
        (public_id,) = values
        return Survey.objects.select_related("complaint").get(public_id=public_id)
    except (ValueError, TypeError, ValidationError, Survey.DoesNotExist):
        return None
