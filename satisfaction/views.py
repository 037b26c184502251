"""The survey's public pages: reached only through the link in the survey email (``satisfaction.links``).

Thin: check the link, parse the form, call one service, render. An answered, expired or forged link gets a
page saying so and changes nothing; the address's "no more surveys" is accepted from any genuine link.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from satisfaction import services
from satisfaction.forms import SurveyForm
from satisfaction.links import LinkState, SurveyLink, check_survey_token
from satisfaction.models import Survey

STATUS = {LinkState.ANSWERED: 200, LinkState.EXPIRED: 410, LinkState.INVALID: 404}
REFERRER_POLICY = "no-referrer"
FORM_REFERRER_POLICY = "same-origin"


def _private(response, *, form: bool = False):
    """The address is the key, as a client's case link is (``cases.views.client``): kept out of caches, search
    engines and other sites' Referer headers. A page with a form says "same-origin" (with "no-referrer" the browser
    posts ``Origin: null``, which the CSRF check refuses); it still sends nothing to any other site."""
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = FORM_REFERRER_POLICY if form else REFERRER_POLICY
    return response


def _closed(request, link: SurveyLink, token: str):
    context = {"state": link.state.value, "token": token, "complaint": link.survey.complaint if link.survey else None}
    return _private(
        render(
            request,
            "satisfaction/closed.html",
            {**context, "referrer_policy": REFERRER_POLICY},
            status=STATUS[link.state],
        )
    )


@require_http_methods(["GET", "POST"])
def survey(request, token: str):
    link = check_survey_token(token)
    if link.state is not LinkState.OPEN or link.survey is None:
        return _closed(request, link, token)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_answer(
                survey=link.survey, answers=form.answers(), decline_more=form.cleaned_data["decline_more"]
            )
        except services.SurveyClosed:
            return _closed(request, check_survey_token(token), token)
        response = redirect(reverse("public:survey", args=[token]) + "#main")
        response.status_code = 303
        return _private(response)
    context = {
        "form": form,
        "complaint": link.survey.complaint,
        "token": token,
        "scale": [form[name] for name in Survey.QUESTIONS],
        "referrer_policy": FORM_REFERRER_POLICY,
    }
    response = render(request, "satisfaction/survey.html", context, status=400 if form.errors else 200)
    return _private(response, form=True)


@require_http_methods(["GET", "POST"])
def decline(request, token: str):
    """ "No more surveys": a page with one button (a GET never changes anything), then the confirmation."""
    link = check_survey_token(token)
    if link.state is LinkState.INVALID or link.survey is None:
        return _closed(request, link, token)
    done = request.method == "POST" and services.surveys_decline(survey=link.survey)
    policy = REFERRER_POLICY if done else FORM_REFERRER_POLICY
    response = render(request, "satisfaction/decline.html", {"token": token, "done": done, "referrer_policy": policy})
    return _private(response, form=not done)
