"""Forms of the staff case page (notes, assignment, category, questions to the client) and the client's answer.

Every staff form carries the case's ``expected_revision`` (refused by the
services as ``StaleCase`` when someone changed the case meanwhile) and
``seen_event``, the newest timeline entry the user had on screen, so that a
refused form can say what changed since. Each form has its own prefix: the
case page shows several at once.

The client's answer (``ClientReplyForm``) takes documents with the same checks
and keeping-between-posts as the complaint form (``cases.forms.DocumentsMixin``).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from cases import permissions, selectors
from cases.forms import (
    MAX_TEXT,
    AccessibleFormMixin,
    DocumentsMixin,
    MultipleFileField,
    TimeOfReceiptField,
    check_phone,
    representative_fields,
    representative_from,
)
from cases.models import Category, Complaint
from cases.services import ANSWER_CHANNELS, RepresentativeDetails


class CaseActionForm(AccessibleFormMixin, forms.Form):
    """A change to a case, made against the revision the user saw."""

    expected_revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    seen_event = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, complaint=None, latest_event_id: int | None = None, **kwargs) -> None:
        if complaint is not None and not args and "data" not in kwargs:
            kwargs["initial"] = {
                **self.initial_from(complaint),
                "expected_revision": complaint.revision,
                "seen_event": latest_event_id,
                **kwargs.get("initial", {}),
            }
        super().__init__(*args, **kwargs)
        self.fields["expected_revision"].error_messages["required"] = (
            "This form is out of date: reload the case and try again."
        )
        self.annotate_widgets()

    def initial_from(self, complaint) -> dict:
        """What an unbound form shows for this case (its current assignee, category...)."""
        return {}

    def full_clean(self) -> None:
        super().full_clean()
        self.annotate_widgets()

    @property
    def html_id(self) -> str:
        """The id of the form's panel on the case page (the form posts back to it: ``action="…#<id>"``)."""
        return f"{self.prefix}-panel"


def _area(label: str, *, rows: int, required_message: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MAX_TEXT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": required_message},
    )


class NoteForm(CaseActionForm):
    prefix = "note"
    text = _area(
        "New note",
        rows=4,
        required_message="Write the note.",
        help_text="Internal: only staff see notes. Notes are added to the case; they cannot be changed later.",
    )


class AssignForm(CaseActionForm):
    """A lead gives the case to someone who works cases (or returns it to the queue)."""

    prefix = "assign"
    assignee = forms.ModelChoiceField(
        label="Assign to",
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="Nobody: return it to the unassigned queue",
        error_messages={"invalid_choice": "Choose someone from the list: that person cannot be given cases."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        if self.is_bound:
            # What is sent is checked against the database. Only a sent form needs the query (building
            # it costs more than drawing the whole menu), and setting it resets the menu: set first.
            field.queryset = permissions.assignable_users()
        # Shown from the cached menus (selectors.staff_menus).
        field.widget.choices = [("", field.empty_label), *selectors.staff_menus()[1]]

    def initial_from(self, complaint) -> dict:
        return {"assignee": complaint.assignee_id}


class PickUpForm(CaseActionForm):
    """A manager takes an unassigned case."""

    prefix = "pickup"


class StartInvestigationForm(CaseActionForm):
    prefix = "start"


class CategoriseForm(CaseActionForm):
    prefix = "categorise"
    category = forms.ModelChoiceField(
        label="Category",
        queryset=Category.objects.filter(active=True),
        required=False,
        empty_label="Not categorised",
        error_messages={"invalid_choice": "Choose a category from the list (it may have been retired)."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        # Checked against the database when sent; shown from the cached menus (selectors.staff_menus).
        categories = selectors.staff_menus()[0]
        field.widget.choices = [("", field.empty_label), *[(pk, name) for pk, name, active in categories if active]]

    def initial_from(self, complaint) -> dict:
        return {"category": complaint.category_id}


class RequestInformationForm(CaseActionForm):
    prefix = "request"
    # The text a reusable paragraph is inserted into (``cases.views.case._with_paragraph``).
    paragraph_field = "message"
    message = _area(
        "Your question to the client",
        rows=6,
        required_message="Write the question to the client.",
        help_text=(
            "Emailed to the client with their reference and the secure link where they answer. "
            "Write it as you would in a letter; do not ask for passwords or bank details."
        ),
    )

    @property
    def wants_preview(self) -> bool:
        return self.is_bound and "preview" in self.data


class ExtendDeadlineForm(CaseActionForm):
    """A complaints lead moves the running due date on, before it passes (the client is emailed why)."""

    prefix = "extend"
    new_date = forms.DateField(
        label="New due date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Choose the new due date.", "invalid": "Enter a date, e.g. 14/12/2026."},
    )
    reason = _area(
        "Reason, for the client",
        rows=4,
        required_message="Give the reason: the client is told it, word for word.",
        help_text="Emailed to the client with the new date, as UK complaint-handling codes require. Write it for them.",
    )


class RevokeLinksForm(CaseActionForm):
    """Stop every secure link sent to the client so far from working."""

    prefix = "revoke"


class NotAComplaintForm(CaseActionForm):
    """A complaints lead closes a case that is not a complaint (an enquiry, spam, a duplicate), with the reason."""

    prefix = "not_complaint"
    reason = _area(
        "Why this is not a complaint",
        rows=3,
        required_message="Say why this is not a complaint (an enquiry, spam, a duplicate of ...).",
        help_text="Kept on the case for the audit trail and left out of the complaint figures. The sender is not told.",
    )


def _reference_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=30,
        help_text=help_text,
        error_messages={"required": "Enter the other complaint's reference, for example JPD-2026-00042-K."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )


class RelatedForm(CaseActionForm):
    """Link another complaint as related (both list each other)."""

    prefix = "related"
    reference = _reference_field(
        "Reference of the related complaint", help_text="For example the same incident reported by a colleague."
    )


class UnlinkForm(CaseActionForm):
    """Remove a related complaint's link (one small form per listed link, drawn by the template)."""

    prefix = "unlink"
    reference = forms.CharField(max_length=30, widget=forms.HiddenInput)


class MergeForm(CaseActionForm):
    """A complaints lead merges this complaint, a duplicate, into its main complaint."""

    prefix = "merge"
    reference = _reference_field("Reference of the main complaint", help_text="The complaint that goes on.")
    confirm_client = forms.BooleanField(
        label=(
            "If the clients' details differ: they are the same client (or the client agreed), "
            "and this complaint's client may see the main one"
        ),
        required=False,
    )


class AddDocumentsForm(DocumentsMixin, CaseActionForm):
    """Staff add documents that reached us another way (a letter by post, scanned): the form's content checks."""

    prefix = "documents"
    documents = MultipleFileField(label="Documents", required=False)
    note = forms.CharField(
        label="Where they came from",
        required=False,
        max_length=200,
        help_text='Optional, for the timeline: "the client\'s letter of 3 March, scanned".',
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        hint = str(self.fields["documents"].help_text)
        self.fields["documents"].help_text = hint.removeprefix("Optional. ")

    def clean(self):
        data = super().clean()
        if not self.uploads() and "documents" not in self._errors:
            self.add_error("documents", "Choose the documents to add.")
        return data


class RecordAnswerForm(DocumentsMixin, CaseActionForm):
    """Staff record the answer the client gave by phone, by letter or in person (the clock restarts)."""

    prefix = "answer"
    how = forms.ChoiceField(
        label="How did the answer reach us?",
        choices=[(how, label) for how, (label, _words) in ANSWER_CHANNELS.items()],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the answer reached us."},
    )
    received_at = TimeOfReceiptField(
        what="the answer",
        label="When did it reach us?",
        help_text="London time. The investigation clock restarts from this moment.",
    )
    text = _area(
        "What the client told us",
        rows=5,
        required_message="Write down what the client told us.",
        help_text="In their words as far as you can. The client sees it on their page as their answer.",
    )
    documents = MultipleFileField(label="Documents", required=False)


class UpdateForm(CaseActionForm):
    """News for the client that is not a question: emailed, shown on their page; no clock changes."""

    prefix = "update"
    paragraph_field = "text"
    text = _area(
        "Your update to the client",
        rows=5,
        required_message="Write the update.",
        help_text="Emailed to the client with their reference and shown on their page. It changes no date.",
    )


class AccessNeedsForm(CaseActionForm):
    """The adjustments agreed with the client (large print, plain language, a phone call instead of writing...)."""

    prefix = "needs"
    needs = forms.MultipleChoiceField(
        label="What helps this client",
        choices=Complaint.AccessNeed.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    detail = forms.CharField(
        label="Anything else agreed",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded on the timeline; large print changes the layout of every letter from now on.",
    )

    def initial_from(self, complaint) -> dict:
        return {"needs": list(complaint.access_needs), "detail": complaint.access_needs_detail}


class WithdrawForm(CaseActionForm):
    """A complaints lead records a withdrawal the client made by phone or letter."""

    prefix = "withdraw"
    reason = _area(
        "How and when the client withdrew",
        rows=3,
        required_message="Say how the client withdrew (a phone call, a letter) and when.",
        help_text='For example: "Phone call with the client, 3 March, 10:15". Staff only. '
        "The client is emailed a confirmation.",
    )


class ReopenForm(CaseActionForm):
    """A complaints lead reopens a withdrawal made by mistake."""

    prefix = "reopen"
    reason = _area(
        "Why it is reopened",
        rows=3,
        required_message="Say why the withdrawal is reopened.",
        help_text="Staff only. The case returns to where it was; its due date moves on by the days it was withdrawn.",
    )


class RepresentativeForm(CaseActionForm):
    """Staff record, change or remove someone complaining on the client's behalf (its own page: the case page
    only shows the representative, so it draws none of these widgets)."""

    prefix = "representative"
    REMOVE = "remove"

    def __init__(self, *args, complaint: Complaint, **kwargs) -> None:
        super().__init__(*args, complaint=complaint, **kwargs)
        self.fields.update(representative_fields("staff"))
        self.fields["correspondence_to"].required = True
        self.fields["correspondence_to"].error_messages["required"] = "Choose who receives letters and emails."
        documents = [(str(pk), name) for pk, name in complaint.attachments.values_list("pk", "original_name")]
        self.fields["consent_document"] = forms.TypedChoiceField(
            label="The document that gives consent",
            choices=[("", "None: the note above says how"), *documents],
            coerce=int,
            empty_value=None,
            required=False,
            help_text="Optional. One of this case's documents (add a scan first, under Add documents).",
        )
        self.annotate_widgets()

    def initial_from(self, complaint) -> dict:
        current = RepresentativeDetails.of(complaint)
        if current is None:
            return {"correspondence_to": Complaint.Correspondence.BOTH}
        return {
            "name": current.name,
            "relationship": current.relationship,
            "email": current.email,
            "phone": current.phone,
            "address": current.address,
            "consent_note": current.consent_note,
            "consent_given_on": current.consent_given_on,
            "consent_document": current.consent_document_id,
            "correspondence_to": current.correspondence_to,
        }

    def clean_phone(self) -> str:
        return check_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        representative = self.representative
        if representative is None:
            self.add_error("name", "Enter the representative's details, or remove the representative.")
            return data
        for name, message in representative.problems().items():
            field = "consent_document" if name == "consent_document_id" else name
            if field not in self._errors:
                self.add_error(field, message)
        return data

    @property
    def representative(self) -> RepresentativeDetails | None:
        return representative_from(self.cleaned_data, consent_document_id=self.cleaned_data.get("consent_document"))


class ClientWithdrawForm(AccessibleFormMixin, forms.Form):
    """The client withdraws their complaint from their page: the reason is theirs to give or not."""

    reason = forms.CharField(
        label="Why you are withdrawing it (optional)",
        required=False,
        max_length=2000,
        help_text="It helps us improve; you do not have to say.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.annotate_widgets()


class ClientReplyForm(DocumentsMixin, forms.Form):
    """The client answers our question: words, documents, or both."""

    text = forms.CharField(
        label="Your answer",
        required=False,
        help_text="In your own words. You can also attach documents below, or send documents only.",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    documents = MultipleFileField(label="Documents", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.annotate_widgets()

    empty_message = "Write your answer, or attach a document that answers our question."

    def clean(self):
        data = super().clean()
        has_text = bool((data.get("text") or "").strip())
        if not has_text and not self.uploads() and "documents" not in self._errors and "text" not in self._errors:
            self.add_error("text", self.empty_message)
        return data


class ClientMessageForm(ClientReplyForm):
    """The client sends us a message or documents at any time while the complaint or its appeal is open."""

    empty_message = "Write your message, or attach a document."

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = "Your message"
        self.fields["text"].help_text = (
            "Anything you want to add or ask about your complaint. You can also attach documents below, "
            "or send documents only."
        )
        self.annotate_widgets()
