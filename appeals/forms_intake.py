"""How an appeal comes in: the client's form on their secure page, and staff logging a letter or email.

Both take documents with exactly the complaint form's checks and keeping-between-posts
(``cases.forms.DocumentsMixin``). The rules of an appeal (the window, one per complaint,
a late one only with a reason) live in ``appeals.services``; a refusal there comes back
as a ``ValidationError`` that ``add_service_errors`` puts next to its field, or in the
summary at the top. Nothing here touches the database.

(``appeals/forms.py`` holds the Director's decision form in the admin.)
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from appeals.models import Appeal
from cases.forms import CLOCK_SLACK, MAX_TEXT, DocumentsMixin, MultipleFileField, TimeOfReceiptField


def _area(label: str, *, rows: int, required: bool = True, help_text: str = "", required_message: str = ""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": required_message} if required_message else None,
    )


class AppealIntakeForm(DocumentsMixin, forms.Form):
    """The fields every appeal has: the reasons and, optionally, documents."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.annotate_widgets()

    def add_service_errors(self, error: ValidationError) -> None:
        """A refusal from ``appeals.services``: messages about a field go next to it, the rest to the summary."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)
        self.annotate_widgets()


class ClientAppealForm(AppealIntakeForm):
    """The client appeals to the Director from their secure case page."""

    reasons = _area(
        "Why do you disagree with our decision?",
        rows=10,
        help_text=(
            "Tell our Director which parts of our response you disagree with and why, and what you would like "
            "to happen now."
        ),
        required_message="Tell us why you disagree with our decision: the Director needs your reasons.",
    )
    documents = MultipleFileField(label="Documents", required=False)


class StaffAppealForm(AppealIntakeForm):
    """A complaints lead logs an appeal that came by letter or email, with its real time of receipt."""

    channel = forms.ChoiceField(
        label="How did the appeal arrive?",
        choices=[(Appeal.Channel.EMAIL, "By email"), (Appeal.Channel.LETTER, "By letter")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the appeal arrived: by email or by letter."},
    )
    received_at = TimeOfReceiptField(what="the appeal")
    reasons = _area(
        "The client's reasons for the appeal",
        rows=10,
        help_text="Copy them from the letter or email, in the client's words.",
        required_message="Record the client's reasons for the appeal (copy them from the letter or email).",
    )
    documents = MultipleFileField(label="Documents", required=False)
    late_reason = _area(
        "Why a late appeal is accepted",
        rows=3,
        required=False,
        help_text="Only if it arrived after the appeal window closed.",  # the date is added by the view
    )

    def __init__(self, *args, appeal_deadline=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "documents"
        ].help_text = f"For example the scanned letter or the email. {self.fields['documents'].help_text}"
        if appeal_deadline is not None:
            self.fields["late_reason"].help_text = (
                f"Only if it arrived after the appeal window closed on {appeal_deadline:%A %-d %B %Y}: "
                "say why it is being accepted (for example, the client was in hospital)."
            )
        # The bound fields were made with the class's wording: make them again.
        self._bound_fields_cache.clear()
        self.annotate_widgets()

    def clean_received_at(self):
        moment = self.cleaned_data["received_at"]
        if moment > timezone.now() + CLOCK_SLACK:
            raise ValidationError("The time of receipt cannot be in the future.")
        # A minute's slack for a clock a little ahead of the server's: never later than now.
        return min(moment, timezone.now())
