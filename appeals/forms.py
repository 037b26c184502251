"""The Director's decision form: decision, reasons, recommendations and action rows.

The action rows are the outcome form's (``cases.forms_outcome.ActionFormSet``):
the same kinds, owners and dates, checked by the same rules in the service.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from appeals.models import Appeal
from cases import selectors
from cases.forms import MAX_TEXT
from cases.forms_outcome import PREFIX, ActionFormSet
from cases.models import Complaint
from cases.services import ActionSpec


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=Appeal.Decision.choices,
        required=False,  # decision_validate says what is missing
        widget=forms.RadioSelect,
    )
    new_outcome = forms.ChoiceField(
        label="The outcome now (if you change the original decision)",
        choices=[("", "Choose the outcome it changes to"), *Complaint.Outcome.choices],
        required=False,  # decision_validate says when it is needed
        help_text="Required when the original decision is changed. The letter and the client's page say what changed.",
    )
    new_root_cause = forms.TypedChoiceField(
        label="Why the complaint arose (if you change the original decision)",
        required=False,  # decision_validate says when it is needed
        coerce=int,
        empty_value=None,
        help_text="The root cause as you found it, from the firm's list: for the reports, not in the letter.",
    )
    new_lesson = forms.CharField(
        label="What we learned (if you change the original decision)",
        required=False,
        max_length=MAX_TEXT,
        help_text="Optional. What should change so that it does not happen again: for the reports, not in the letter.",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )
    reasons = forms.CharField(
        label="Reasons for the decision",
        required=False,
        max_length=MAX_TEXT,
        help_text="Required. The client reads them in the final decision letter, word for word.",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
    )
    recommendations = forms.CharField(
        label="Recommendations (optional)",
        required=False,
        max_length=MAX_TEXT,
        help_text="Anything the company should do differently; printed in the letter.",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
    )
    expected_revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I have read the preview. This decision is final and will be sent to the client.",
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        causes = selectors.root_cause_choices()
        self.fields["new_root_cause"].choices = [("", "Choose the root cause"), *causes]
        if not causes:  # the firm keeps no list: nothing to choose
            del self.fields["new_root_cause"]

    def clean_expected_revision(self):
        value = self.cleaned_data.get("expected_revision")
        if value is None:
            raise ValidationError("This form is incomplete. Open the appeal again.")
        return value


class DecisionEntry:
    """The decision form and its action rows, bound and checked together."""

    def __init__(self, data=None, *, owners, revision: int) -> None:
        self.form = DecisionForm(data, initial={"expected_revision": revision})
        self.formset = ActionFormSet(data, prefix=PREFIX, form_kwargs={"owners": list(owners)})

    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        formset_ok = self.formset.is_valid()
        return form_ok and formset_ok

    def actions(self) -> list[ActionSpec]:
        return [form.spec() for form in self.formset.forms if form.has_changed()]

    def as_kwargs(self) -> dict:
        data = self.form.cleaned_data
        return {
            "decision": data.get("decision") or "",
            "new_outcome": data.get("new_outcome") or "",
            "reasons": data.get("reasons") or "",
            "recommendations": data.get("recommendations") or "",
            "actions": self.actions(),
        }

    def for_decision(self) -> dict:
        """Everything the decision records: the letter's content, and the firm's root cause and lesson."""
        data = self.form.cleaned_data
        return {
            **self.as_kwargs(),
            "new_root_cause_id": data.get("new_root_cause"),
            "new_lesson": (data.get("new_lesson") or "").strip(),
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Show the service's rule errors next to the fields they are about."""
        if not hasattr(error, "error_dict"):
            self.form.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            target = field if field in self.form.fields else None
            for message in messages:
                self.form.add_error(target, message)
