"""The satisfaction survey (issue 20, point 3): one email when a complaint closes, a single-use signed link,
"no more surveys", the results on the reports page and in the CSV, and the answers as personal data.

Every test fixes its clock, so none depends on the day the suite runs (hence this folder, not the travelled ones).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from appeals import services as appeal_services
from appeals.models import Appeal
from cases.models import Complaint
from notifications import services as outbox
from notifications.models import OutboundMessage
from procedure.retention import complaints_anonymise, subject_access_export
from procedure.sweep import deadlines_sweep
from satisfaction import links, services
from satisfaction.models import Survey, SurveyOptOut, address_digest
from tests.appeals.helpers import lodged, responded
from tests.factories import AcknowledgedComplaintFactory, director, lead

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
# Tuesday 1 December 2026, an ordinary business day: the sweep closes what could be appealed until 30 November.
TUESDAY = dt.datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
KIND = services.MESSAGE_KIND
ANSWERS = {"fair": "4", "informed": "2", "clear": "5", "comment": "The letter was clear; the wait was not."}


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def surveys_sent() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind=KIND).order_by("to_email"))


def window_ended(**fields) -> Complaint:
    """A complaint answered in November whose time to appeal ended on Monday 30 November, with no appeal."""
    values = {
        "status": Complaint.Status.RESPONDED,
        "outcome": Complaint.Outcome.NOT_UPHELD,
        "responded_at": dt.datetime(2026, 11, 2, 10, tzinfo=LONDON),
        "appeal_deadline": dt.date(2026, 11, 30),
    }
    return AcknowledgedComplaintFactory(**{**values, **fields})


def closed_with_survey(**fields) -> tuple[Complaint, Survey]:
    complaint = window_ended(**fields)
    with at(TUESDAY):
        deadlines_sweep()
    return complaint, Survey.objects.get(complaint=complaint)


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


# --- when a survey is sent, and to whom ---------------------------------------------------------------------


def test_the_directors_final_decision_closes_the_complaint_and_queues_one_survey_email():
    director(email="director@jpditservices.com")
    appeal = lodged(responded(email="ada@example.com"))
    boss = director()

    appeal_services.appeal_decide(
        actor=boss, appeal=appeal, decision=Appeal.Decision.ORIGINAL_DECISION_UPHELD, reasons="It was fair."
    )

    survey = Survey.objects.get(complaint=appeal.complaint)
    (message,) = surveys_sent()
    assert (message.to_email, message.dedupe_key) == ("ada@example.com", services.outbox_key(appeal.complaint_id))
    assert survey.recipient == "client"
    assert not survey.is_answered
    # Queued again for the same case (a retried task, a late appeal closing it a second time): nothing more.
    assert services.surveys_queue([appeal.complaint_id], at=survey.created_at) == []
    assert len(surveys_sent()) == 1


def test_the_sweep_sends_one_survey_per_closed_complaint_to_the_right_person_and_none_where_it_must_not():
    ordinary = window_ended(email="olu@example.com")
    represented = window_ended(
        email="client@example.com",
        representative_name="Rhys Rep",
        representative_email="rhys@example.org",
        correspondence_to=Complaint.Correspondence.REPRESENTATIVE,
    )
    declined_client = window_ended(
        email="no-more@example.com",
        representative_name="Bea Both",
        representative_email="bea@example.org",
        correspondence_to=Complaint.Correspondence.BOTH,
    )
    SurveyOptOut.objects.create(digest=address_digest("NO-MORE@example.com "))
    anonymised = window_ended(email="", name="Anonymised", anonymised_at=dt.datetime(2026, 11, 20, tzinfo=LONDON))
    withdrawn = AcknowledgedComplaintFactory(status=Complaint.Status.WITHDRAWN, email="wes@example.com")

    with at(TUESDAY):
        report = deadlines_sweep()
    with at(TUESDAY + dt.timedelta(minutes=15)):
        deadlines_sweep()

    assert report.closures == 4
    sent = {message.complaint_id: message.to_email for message in surveys_sent()}
    # One person per case: the client; the representative where our emails go to them only; the next
    # correspondent when the first declined surveys. None for an anonymised case or a withdrawn one.
    assert sent == {
        ordinary.pk: "olu@example.com",
        represented.pk: "rhys@example.org",
        declined_client.pk: "bea@example.org",
    }
    assert Survey.objects.get(complaint=represented).recipient == "representative"
    assert not Survey.objects.filter(complaint_id__in=[anonymised.pk, withdrawn.pk]).exists()


def test_the_email_carries_a_single_use_link_and_its_kept_copy_has_the_token_masked():
    complaint, survey = closed_with_survey(email="ada@example.com")
    (message,) = surveys_sent()

    with at(TUESDAY):
        assert outbox.message_deliver(message.pk) == "sent"

    (email,) = mail.outbox[-1:]
    assert complaint.reference in email.subject
    link = re.search(r"http://\S+/feedback/(\S+)/", email.body)
    assert link
    assert links.check_survey_token(link[1]).survey == survey
    assert "/no-more/" in email.body
    html = email.alternatives[0][0]
    assert "Answer the three questions" in html
    message.refresh_from_db()
    assert "/feedback/[token]/" in message.body_text
    assert link[1] not in message.body_text + message.body_html


# --- the form and its link ---------------------------------------------------------------------------------------


def test_the_link_takes_answers_once_and_expired_or_forged_links_change_nothing(client):
    complaint, survey = closed_with_survey()
    with at(TUESDAY):
        token = links.survey_token(survey)
        url = reverse("public:survey", args=[token])

        page = client.get(url)
        assert page.status_code == 200
        assert page.content.decode().count('type="radio"') == 15
        assert complaint.reference in text(page)
        # A form: "same-origin" (with "no-referrer" the browser posts Origin: null, which the CSRF check refuses).
        assert page["Referrer-Policy"] == "same-origin"
        assert page["Cache-Control"] == "no-store, private"

        incomplete = client.post(url, {"fair": "4", "clear": "9"})
        assert incomplete.status_code == 400
        assert "Choose a number from 1 to 5" in text(incomplete)
        survey.refresh_from_db()
        assert not survey.is_answered

        sent = client.post(url, ANSWERS)
        assert sent.status_code == 303
        again = client.post(url, {**ANSWERS, "fair": "1", "comment": "Changed my mind"})
        assert again.status_code == 200
        assert "Thank you" in text(again)

        forged = client.post(reverse("public:survey", args=[token[:-3] + "xyz"]), ANSWERS)
        assert forged.status_code == 404
        assert "This link does not work" in text(forged)

    survey.refresh_from_db()
    assert (survey.fair, survey.informed, survey.clear) == (4, 2, 5)
    assert survey.comment == ANSWERS["comment"]

    other = Survey.objects.create(complaint=window_ended(), recipient="client")
    with at(TUESDAY):
        old_token = links.survey_token(other)
    with at(TUESDAY + dt.timedelta(days=31)):
        expired = client.post(reverse("public:survey", args=[old_token]), ANSWERS)
    assert expired.status_code == 410
    assert "This survey has closed" in text(expired)
    other.refresh_from_db()
    assert not other.is_answered


def test_no_more_surveys_holds_for_every_later_one_and_a_waiting_email_is_not_sent(client):
    _, survey = closed_with_survey(email="done@example.com")
    waiting = OutboundMessage.objects.get(kind=KIND, to_email="done@example.com")
    decline_url = reverse("public:survey_decline", args=[links.survey_token(survey)])

    assert client.get(decline_url).status_code == 200  # a page with a button: a GET changes nothing
    assert not SurveyOptOut.objects.exists()
    response = client.post(decline_url)

    assert "We will not send you surveys again" in text(response)
    waiting.refresh_from_db()
    assert (waiting.state, waiting.last_error) == (OutboundMessage.State.FAILED, services.DECLINED)
    assert waiting.handled_at is not None  # not among the failures an administrator must act on
    later = window_ended(email="Done@Example.com", appeal_deadline=dt.date(2026, 12, 1))
    with at(TUESDAY + dt.timedelta(days=1)):
        deadlines_sweep()
    later.refresh_from_db()
    assert later.status == Complaint.Status.CLOSED
    assert not Survey.objects.filter(complaint=later).exists()


def test_the_forms_own_box_declines_too():
    _, survey = closed_with_survey(email="box@example.com")
    answers = services.Answers(fair=3, informed=3, clear=3)

    services.survey_answer(survey=survey, answers=answers, decline_more=True)

    assert services.has_declined("BOX@example.com")
    with pytest.raises(services.SurveyClosed):
        services.survey_answer(survey=survey, answers=answers)


# --- personal data ----------------------------------------------------------------------------------------------------


def test_the_answers_are_in_the_subject_access_export_and_anonymisation_keeps_only_the_scores(client):
    complaint, survey = closed_with_survey(email="sara@example.com")
    services.survey_answer(
        survey=survey,
        answers=services.Answers(fair=2, informed=4, clear=3, comment="Sara's own words"),
        decline_more=True,
    )

    (held,) = subject_access_export(email="sara@example.com")["complaints"]
    assert held["satisfaction_survey"]["answers"][0] == {"question": Survey.QUESTIONS["fair"], "answer": 2}
    assert held["satisfaction_survey"]["comment"] == "Sara's own words"
    assert subject_access_export(email="sara@example.com")["declined_satisfaction_surveys_on"]

    complaints_anonymise([complaint.pk], summary="Retention period over")

    survey.refresh_from_db()
    assert (survey.fair, survey.informed, survey.clear, survey.comment) == (2, 4, 3, "")
    answered = client.get(reverse("public:survey", args=[links.survey_token(survey)]))
    assert answered.status_code == 404  # the case is nobody's now: the link leads nowhere


def test_anonymising_a_case_stops_its_unsent_survey():
    complaint, survey = closed_with_survey()
    complaints_anonymise([complaint.pk], summary="At the client's request")
    message = OutboundMessage.objects.get(kind=KIND, complaint=complaint)
    assert message.state == OutboundMessage.State.FAILED
    assert links.check_survey_token(links.survey_token(survey)).state is links.LinkState.INVALID


# --- the results ------------------------------------------------------------------------------------------------


def answered(day: int, *, outcome: str, channel: str, scores: tuple[int, int, int], comment: str = "", appeal=None):
    received = dt.datetime(2026, 11, day, 10, tzinfo=LONDON)
    complaint = AcknowledgedComplaintFactory(
        status=Complaint.Status.CLOSED, received_at=received, outcome=outcome, channel=channel
    )
    if appeal:
        Appeal.objects.create(
            complaint=complaint,
            reasons="I disagree.",
            received_at=received,
            acknowledgement_due=complaint.acknowledgement_due,
            status=Appeal.Status.DECIDED,
            decision=Appeal.Decision.ORIGINAL_DECISION_CHANGED,
            new_outcome=appeal,
            decision_reasons="Changed.",
            decided_at=received + dt.timedelta(days=20),
        )
    fair, informed, clear = scores
    Survey.objects.create(
        complaint=complaint,
        recipient="client",
        answered_at=received + dt.timedelta(days=25),
        fair=fair,
        informed=informed,
        clear=clear,
        comment=comment,
    )
    return complaint


def test_the_reports_page_shows_the_results_by_outcome_stage_and_channel_and_the_csv_carries_the_scores(client):
    answered(2, outcome="upheld", channel="web", scores=(5, 4, 5), comment="Quick and fair.")
    answered(3, outcome="not_upheld", channel="phone", scores=(2, 3, 1))
    changed = answered(4, outcome="not_upheld", channel="web", scores=(4, 4, 4), appeal="partially_upheld")
    Survey.objects.create(
        complaint=window_ended(received_at=dt.datetime(2026, 11, 5, 10, tzinfo=LONDON)), recipient="client"
    )
    client.force_login(lead())
    november = {"period": "month", "year": 2026, "month": 11}

    with at(TUESDAY):
        page = text(client.get(reverse("reports:report"), november))
        export = client.get(reverse("reports:export"), {**november, "figure": "all"})

    assert "Surveys sent when these complaints closed: 4; answered: 3 (75.0%)" in page
    assert "The complaint was handled fairly 3.7" in page  # (5 + 2 + 4) / 3
    assert "Upheld 1 of 1 5.0 4.0 5.0" in page
    assert "Partially upheld 1 of 1 4.0 4.0 4.0" in page  # the outcome in force after the appeal
    assert "Closed after an appeal 1 of 1 4.0 4.0 4.0" in page
    assert "Closed after our response 2 of 3 3.5 3.5 3.0" in page
    assert "Phone 1 of 1 2.0 3.0 1.0" in page
    assert "Quick and fair." in page
    body = b"".join(export.streaming_content).decode()
    scores = {row["Reference"]: row["Survey: handled fairly (1-5)"] for row in csv.DictReader(io.StringIO(body))}
    assert scores[changed.reference] == "4"
    assert "Quick and fair." not in body  # the client's own words stay out of the export
