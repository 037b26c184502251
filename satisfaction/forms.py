"""The survey's form: three questions on a 1-5 scale, a comment, and "no more surveys"."""

from __future__ import annotations

from django import forms

from cases.forms import AccessibleForm
from satisfaction.models import SCORE_WORDS, SCORES, Survey
from satisfaction.services import COMMENT_LIMIT, Answers

CHOICES = [(score, SCORE_WORDS[score]) for score in SCORES]


def _question(name: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=Survey.QUESTIONS[name],
        choices=CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": f"Choose a number from 1 to 5 for “{Survey.QUESTIONS[name]}”",
            "invalid_choice": "Choose a number from 1 to 5.",
        },
    )


class SurveyForm(AccessibleForm):
    fair = _question("fair")
    informed = _question("informed")
    clear = _question("clear")
    comment = forms.CharField(
        label="Anything else you would like to tell us?",
        required=False,
        max_length=COMMENT_LIMIT,
        help_text=f"Optional, up to {COMMENT_LIMIT} characters. Please do not include other people's details.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": f"Keep your comment to {COMMENT_LIMIT} characters, please."},
    )
    decline_more = forms.BooleanField(label="Do not send me satisfaction surveys again", required=False)

    def _widget_class(self, widget) -> str:
        # The scale's radios are drawn as a row of large buttons (templates/satisfaction/_scale.html).
        return "btn-check" if isinstance(widget, forms.RadioSelect) else super()._widget_class(widget)

    def answers(self) -> Answers:
        data = self.cleaned_data
        return Answers(fair=data["fair"], informed=data["informed"], clear=data["clear"], comment=data["comment"])
