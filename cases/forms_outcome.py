"""The outcome form: the decision, findings and reasons, and the actions promised in the letter.

The rules of an outcome live in one place, ``cases.services.outcome_validate``:
these forms only parse what was typed (a date, an owner from the list) and keep
it for the next page, and the service's errors are placed next to the fields
they concern (``OutcomeEntry.add_service_errors``). Action rows are a Django
formset that works without JavaScript: three blank rows, and an "Add another
action" button that posts the form back with one more row; a row left blank is
ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare, salted_hmac

from cases import selectors
from cases.forms import MAX_TEXT, AccessibleFormMixin
from cases.models import Action, Complaint
from cases.services import ActionSpec

BLANK_ROWS = 3
MAX_ACTIONS = 20
PREFIX = "actions"
# "Action 2: describe it." from outcome_validate → row 2, and the field it is about.
_ACTION_ERROR = re.compile(r"^Action (\d+): (.+)$")
_ACTION_ERROR_FIELDS = (("kind", "kind"), ("describe", "description"), ("owner", "owner"), ("due date", "due_date"))


class OutcomeForm(AccessibleFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label="Our decision",
        choices=Complaint.Outcome.choices,
        required=False,  # outcome_validate says what is missing, in the letter's terms
        widget=forms.RadioSelect,
    )
    findings = forms.CharField(
        label="What the investigation found",
        required=False,
        max_length=MAX_TEXT,
        help_text="What you looked at and what you established. The client reads this in the letter, word for word.",
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    reasons = forms.CharField(
        label="Reasons for the decision",
        required=False,
        max_length=MAX_TEXT,
        help_text=(
            "Required if the complaint is not upheld: explain why, in words the client will understand. "
            "If it is partially upheld, say why the rest is not."
        ),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    root_cause = forms.TypedChoiceField(
        label="Root cause",
        required=False,  # services.root_cause_problem says when one is needed
        coerce=int,
        empty_value=None,
        help_text="Why the complaint arose, as you found it: for the firm's reports, not in the letter.",
    )
    lesson = forms.CharField(
        label="What we learned",
        required=False,
        max_length=MAX_TEXT,
        help_text="Optional. What should change so that it does not happen again. For the reports, not in the letter.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The case's revision when the form was first opened: a change by anyone
    # else since then makes the issue refuse (services.StaleCase).
    expected_revision = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    # The fingerprint of the draft last previewed: only that letter may be issued.
    previewed = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        causes = selectors.root_cause_choices()
        self.fields["root_cause"].choices = [("", "Choose…"), *causes]
        self.has_root_causes = bool(causes)
        self.annotate_widgets()

    def full_clean(self) -> None:
        super().full_clean()
        self.annotate_widgets()

    def clean(self):
        data = super().clean()
        if data.get("expected_revision") is None:
            # Only a tampered or truncated post lacks it: nothing can be checked against the case.
            raise ValidationError("This form is incomplete. Open the outcome page again from the case page.")
        return data


class ActionForm(AccessibleFormMixin, forms.Form):
    """One action row. Owners come from the view (one query for every row)."""

    kind = forms.ChoiceField(label="Kind", choices=[("", "Choose…"), *Action.Kind.choices], required=False)
    description = forms.CharField(
        label="What we will do",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    owner = forms.TypedChoiceField(label="Owner", required=False, coerce=int, empty_value=None)
    due_date = forms.DateField(
        label="Due date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, owners=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {user.pk: user for user in owners}
        self.fields["owner"].choices = [("", "Choose…")] + [
            (user.pk, user.get_full_name() or user.get_username()) for user in owners
        ]
        self.annotate_widgets()

    def full_clean(self) -> None:
        super().full_clean()
        self.annotate_widgets()

    @property
    def number(self) -> int:
        """The row's number as the page shows it (1-based)."""
        return int(self.prefix.rsplit("-", 1)[-1]) + 1

    def spec(self) -> ActionSpec:
        data = self.cleaned_data
        return ActionSpec(
            kind=data.get("kind") or "",
            description=data.get("description") or "",
            owner=self.owners.get(data.get("owner")),
            due_date=data.get("due_date"),
        )


ActionFormSet = forms.formset_factory(
    ActionForm,
    extra=BLANK_ROWS,
    max_num=MAX_ACTIONS,
    absolute_max=MAX_ACTIONS,
    validate_max=True,
)


@dataclass(frozen=True)
class OutcomeDraft:
    """What the manager has typed, ready for the outcome services."""

    outcome: str
    findings: str
    reasons: str
    actions: tuple[ActionSpec, ...]
    # For the firm, not the letter: the root cause and what we learned.
    root_cause_id: int | None = None
    lesson: str = ""

    def as_kwargs(self) -> dict:
        """What the letter says (the preview, the PDF, the letter issued)."""
        return {"outcome": self.outcome, "findings": self.findings, "reasons": self.reasons, "actions": self.actions}

    def for_issue(self) -> dict:
        """Everything the outcome service records: the letter's content and the firm's root cause and lesson."""
        return {**self.as_kwargs(), "root_cause_id": self.root_cause_id, "lesson": self.lesson}

    def fingerprint(self, complaint: Complaint) -> str:
        """A keyed hash of the letter's content: issuing checks it is the draft last previewed."""
        content = {
            "complaint": complaint.pk,
            "outcome": self.outcome,
            "findings": self.findings.strip(),
            "reasons": self.reasons.strip(),
            "actions": [
                [a.kind, a.description.strip(), getattr(a.owner, "pk", None), a.due_date.isoformat()]
                for a in self.actions
            ],
        }
        return salted_hmac("cases.outcome.preview", json.dumps(content, sort_keys=True)).hexdigest()


class OutcomeEntry:
    """The outcome form and its action rows, bound and checked together."""

    def __init__(self, data=None, *, owners, revision: int | None = None, add_row: bool = False) -> None:
        if data is not None and add_row:
            data = data.copy()
            key = f"{PREFIX}-TOTAL_FORMS"
            try:
                total = int(data.get(key, BLANK_ROWS))
            except ValueError:
                total = BLANK_ROWS
            data[key] = str(min(max(total, 0) + 1, MAX_ACTIONS))
        self.form = OutcomeForm(data, initial={"expected_revision": revision})
        self.formset = ActionFormSet(data, prefix=PREFIX, form_kwargs={"owners": list(owners)})
        self.action_errors: list[str] = []  # about the actions as a whole, not one row
        self.problem = ""  # a message about the case, shown above the form (stale, refused)

    @property
    def is_bound(self) -> bool:
        return self.form.is_bound

    @property
    def can_add_row(self) -> bool:
        return self.formset.total_form_count() < MAX_ACTIONS

    def filled_rows(self) -> list[ActionForm]:
        return [form for form in self.formset.forms if form.has_changed()]

    def is_valid(self) -> bool:
        """The typing parses (dates, owners, the hidden fields); the outcome rules are the service's."""
        form_ok = self.form.is_valid()
        formset_ok = self.formset.is_valid()
        return form_ok and formset_ok

    def draft(self) -> OutcomeDraft:
        data = self.form.cleaned_data
        return OutcomeDraft(
            outcome=data.get("outcome") or "",
            findings=data.get("findings") or "",
            reasons=data.get("reasons") or "",
            actions=tuple(form.spec() for form in self.filled_rows()),
            root_cause_id=data.get("root_cause"),
            lesson=(data.get("lesson") or "").strip(),
        )

    @property
    def expected_revision(self) -> int:
        return self.form.cleaned_data["expected_revision"]

    def previewed_matches(self, fingerprint: str) -> bool:
        return constant_time_compare(self.form.cleaned_data.get("previewed") or "", fingerprint)

    def set_hidden(self, *, revision: int | None = None, previewed: str | None = None) -> None:
        """Change a hidden field for the next post (a re-rendered bound form shows its data)."""
        data = self.form.data.copy()
        if revision is not None:
            data[self.form.add_prefix("expected_revision")] = str(revision)
        if previewed is not None:
            data[self.form.add_prefix("previewed")] = previewed
        self.form.data = data

    def add_service_errors(self, error: ValidationError) -> None:
        """Put outcome_validate's errors next to the fields (and rows) they are about."""
        messages = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        rows = self.filled_rows()
        for field, field_messages in messages.items():
            for message in field_messages:
                if field in ("outcome", "findings", "reasons", "root_cause"):
                    self.form.add_error(field, message)
                elif field == "actions":
                    self._add_action_error(message, rows)
                else:
                    self.form.add_error(None, message)
        self.form.annotate_widgets()
        for form in rows:
            form.annotate_widgets()

    def _add_action_error(self, message: str, rows: list[ActionForm]) -> None:
        match = _ACTION_ERROR.match(message)
        if not match or not 1 <= int(match.group(1)) <= len(rows):
            self.action_errors.append(message)
            return
        row = rows[int(match.group(1)) - 1]
        # The service counts filled rows; the page numbers every row.
        text = f"Action {row.number}: {match.group(2)}"
        field = next((name for word, name in _ACTION_ERROR_FIELDS if word in match.group(2)), None)
        row.add_error(field, text)

    @property
    def errors(self) -> bool:
        return bool(self.error_summary)

    @property
    def error_summary(self) -> list[dict]:
        """Every error as a link to its field, for templates/cases/public/_error_summary.html."""
        if not self.form.is_bound:
            return []
        items = self.form.error_summary()
        items.extend({"href": "#actions", "message": message} for message in self.action_errors)
        items.extend({"href": "#actions", "message": message} for message in self.formset.non_form_errors())
        for row in self.formset.forms:
            items.extend({"href": f"#action-{row.number}", "message": m} for m in row.non_field_errors())
            for name in row.fields:
                for message in row.errors.get(name, []):
                    text = message if message.startswith("Action ") else f"Action {row.number}: {message}"
                    items.append({"href": f"#{row[name].auto_id}", "message": text})
        return items
