"""Complaint intake forms: the public web form and the staff "log a complaint" form.

Both share ``ComplaintDetailsForm``: every intake field of docs/specification.md, checked
documents, and the "files re-asked only when needed" rule: when a post has
errors elsewhere, the documents that passed their checks are kept in private
storage (``cases.uploads.Staging``) and offered again as "Already attached", so
the client never has to choose them twice. Nothing touches the database here;
views pass ``form.details()`` and ``form.uploads()`` to one service
(``complaint_submit`` / ``complaint_log``) and then call ``form.clear_staging()``.

The forms also prepare their widgets for the shared template partial
``templates/cases/_complaint_fields.html``: Bootstrap classes, input types and
autocomplete tokens, ``aria-describedby`` pointing at each hint and error, and
``error_summary()`` for the list of links at the top of the page.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.renderers import Jinja2
from django.utils import timezone

from cases import references
from cases.business_days import london_today
from cases.models import Complaint
from cases.services import ComplaintDetails, RepresentativeDetails
from cases.uploads import ACCEPTED_SUMMARY, Staging, ValidatedUpload, human_size, validate_upload

ContactMethod = Complaint.ContactMethod
# The intake forms' representative fields: representative_name, representative_consent_note... (the names of
# services.RepresentativeDetails, prefixed).
REPRESENTATIVE_PREFIX = "representative_"
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()\-.]+$")
# Longest description we take on a form: about 40 pages of text.
MAX_TEXT = 20_000
# A staff member logging a complaint may be a few minutes ahead of the server clock.
CLOCK_SLACK = timedelta(minutes=1)
# Logging a complaint that arrived longer ago than this is almost certainly a mistyped year.
MAX_LOGGING_DELAY = timedelta(days=366)


class TimeOfReceiptField(forms.DateTimeField):
    """When something really arrived, as a London wall-clock time (the deadlines run from it).

    A time in the hour that happens twice when the clocks go back is read as the first of the two
    (British Summer Time); a time in the hour skipped when they go forward is read on the clock
    before the change (01:30 that night is 02:30 British Summer Time). Either way the time exists
    and its London date, the one the deadlines count from, is the date typed. (Django's own field
    refuses both, which left a letter that arrived in that hour impossible to log.)
    """

    def __init__(self, *, what: str, **kwargs) -> None:
        kwargs.setdefault("label", "When did it arrive?")
        kwargs.setdefault(
            "help_text", "London time. The deadlines run from this moment, so enter when it really arrived."
        )
        super().__init__(
            initial=lambda: timezone.localtime().replace(second=0, microsecond=0),
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
            widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "60"}, format="%Y-%m-%dT%H:%M"),
            error_messages={
                "required": f"Enter the date and time {what} arrived.",
                "invalid": "Enter a date and time, like 14/03/2026 10:30.",
            },
            **kwargs,
        )

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            if error.code != "ambiguous_timezone":
                raise
        # The wall-clock time as typed (the formats above), then placed in London: fold 0 is the
        # first reading of a repeated time, and the pre-change offset for a skipped one.
        naive = forms.fields.BaseTemporalField.to_python(self, value.strip())
        return naive.replace(tzinfo=timezone.get_current_timezone(), fold=0).astimezone(UTC)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.Field):
    """Several files in one input; each is checked by the form (all errors at once, each naming its file)."""

    widget = MultipleFileInput

    def to_python(self, data):
        if not data:
            return []
        if not isinstance(data, list | tuple):
            data = [data]
        return [f for f in data if f]

    def bound_data(self, data, initial):
        # A file input is never re-filled by the browser; kept files are shown separately.
        return initial

    def has_changed(self, initial, data):
        return bool(data)


def _text(label, *, required=True, max_length=200, autocomplete=None, help_text=""):
    attrs = {"autocomplete": autocomplete} if autocomplete else {}
    return forms.CharField(
        label=label, required=required, max_length=max_length, help_text=help_text, widget=forms.TextInput(attrs=attrs)
    )


def _area(label, *, required=True, rows=6, help_text="", autocomplete=None):
    attrs = {"rows": rows}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        help_text=help_text,
        widget=forms.Textarea(attrs=attrs),
    )


# The project's forms draw their widgets with Django's own Jinja2 widget templates: the same markup
# (only the blank lines between a menu's <option>s go) at a quarter of the cost of the Django-template
# ones. The staff case page draws about twenty widgets: 15.3 -> 12.3-13.1 ms of CPU a request for a
# lead (bench/README.md, session 6). One renderer for all (it keeps its compiled templates); the admin's
# forms keep the default renderer (FORM_RENDERER), whose Django templates its own widgets need.
WIDGET_RENDERER = Jinja2()


class AccessibleFormMixin:
    """Bootstrap classes and ARIA wiring on every widget, and the error summary.

    Each field's hint has the id ``<field id>-hint`` and its error ``<field id>-error``;
    the template partial renders them with those ids, the widget points at them.
    """

    default_renderer = WIDGET_RENDERER

    def _widget_class(self, widget) -> str:
        if isinstance(widget, forms.RadioSelect | forms.CheckboxInput | forms.CheckboxSelectMultiple):
            return "form-check-input"
        if isinstance(widget, forms.Select):
            return "form-select"
        return "form-control"

    def _field_id(self, name: str) -> str:
        # Worked out here rather than through self[name], which would cache a
        # BoundField (and its label) before a subclass has set its wording.
        html_name = self.add_prefix(name)
        if self.auto_id and "%s" in str(self.auto_id):
            return str(self.auto_id) % html_name
        return html_name if self.auto_id else ""

    def annotate_widgets(self) -> None:
        errors = getattr(self, "_errors", None) or {}
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            auto_id = self._field_id(name)
            classes = [self._widget_class(widget)]
            described = []
            if field.help_text:
                described.append(f"{auto_id}-hint")
            if name in errors:
                classes.append("is-invalid")
                described.append(f"{auto_id}-error")
                widget.attrs["aria-invalid"] = "true"
            else:
                widget.attrs.pop("aria-invalid", None)
            widget.attrs["class"] = " ".join(classes)
            if described and not isinstance(widget, forms.RadioSelect):
                # Radio groups are described on their <fieldset> instead.
                widget.attrs["aria-describedby"] = " ".join(described)
            else:
                widget.attrs.pop("aria-describedby", None)

    def error_summary(self) -> list[dict]:
        """Every error as ``{"href": "#<input id>", "message": ...}``, in the order of the fields."""
        items = [{"href": "#error-summary", "message": message} for message in self.non_field_errors()]
        for name in self.fields:
            if name not in self.errors:
                continue
            bound = self[name]
            anchor = bound.auto_id
            if isinstance(bound.field.widget, forms.RadioSelect):
                anchor = f"{anchor}_0"
            items.extend({"href": f"#{anchor}", "message": message} for message in self.errors[name])
        return items


class AccessibleForm(AccessibleFormMixin, forms.Form):
    """A plain form with the staff pages' Bootstrap classes and ARIA wiring, kept after validation."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.annotate_widgets()

    def full_clean(self) -> None:
        super().full_clean()
        self.annotate_widgets()


class DocumentsMixin(AccessibleFormMixin):
    """Documents checked by content, and kept between posts: for any form with a ``documents`` field.

    The complaint forms and the client's answer to a question (``cases.forms_case``)
    share it, so a document is accepted or refused by the same rules everywhere.
    Put it before ``forms.Form`` in the bases and declare
    ``documents = MultipleFileField(...)`` on the form.
    """

    staging_field = "kept_documents"
    remove_field = "remove_document"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].help_text = (
            f"Optional. Up to {settings.INTAKE_MAX_FILES} files, each at most "
            f"{human_size(settings.INTAKE_MAX_FILE_BYTES)}. {ACCEPTED_SUMMARY}"
        )
        self.fields["documents"].widget.attrs["accept"] = ",".join(
            [".pdf", ".png", ".jpg", ".jpeg", ".docx", ".xlsx", ".txt", ".eml"]
        )
        raw = self.data.get(self.add_prefix(self.staging_field)) if self.is_bound else None
        self.staging = Staging.from_signed(raw)
        self._remove_keys: list[str] = []
        if self.is_bound and hasattr(self.data, "getlist"):
            self._remove_keys = self.data.getlist(self.add_prefix(self.remove_field))
        self._new_uploads: list[ValidatedUpload] = []

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self._errors:
            # Keep what passed so the client does not choose it again after fixing the rest.
            self.stage_uploads()
            # Mark the fields in error; without errors the marks made in __init__ stand.
            self.annotate_widgets()

    def clean_documents(self):
        """Check every new file; keep the valid ones even when others are refused."""
        files = self.cleaned_data["documents"]
        self.staging.remove(self._remove_keys)
        errors = [
            f"'{gone.original_name}' is no longer kept for you (we keep documents for a day). Please attach it again."
            for gone in self.staging.missing()
        ]
        limit = settings.INTAKE_MAX_FILES
        kept = len(self.staging.files)
        if kept + len(files) > limit:
            already = f" (plus {kept} already attached)" if kept else ""
            errors.append(
                f"You can attach up to {limit} files; you chose {len(files)}{already}. "
                f"Please choose at most {max(limit - kept, 0)}."
            )
            raise ValidationError(errors)
        seen = {staged.sha256 for staged in self.staging.files}
        for uploaded in files:
            try:
                upload = validate_upload(uploaded)
            except ValidationError as error:
                errors.extend(error.messages)
                continue
            if upload.sha256 not in seen:  # the same file chosen twice is kept once
                seen.add(upload.sha256)
                self._new_uploads.append(upload)
        if errors:
            raise ValidationError(errors)
        return files

    def uploads(self) -> list[ValidatedUpload]:
        """Kept files first (chosen earlier), then this post's new ones."""
        return self.staging.uploads() + self._new_uploads

    # -- keeping files between posts ------------------------------------------------

    def stage_uploads(self) -> None:
        """Move this post's valid files into the staging folder (also used when a post is refused for flooding)."""
        for upload in self._new_uploads:
            self.staging.add(upload)
        self._new_uploads = []

    def clear_staging(self) -> None:
        """Delete the kept files once they are attached to a case."""
        self.staging.discard()

    @property
    def kept_files(self):
        return self.staging.files

    @property
    def staging_value(self) -> str:
        return self.staging.signed()

    @property
    def staging_name(self) -> str:
        return self.add_prefix(self.staging_field)

    @property
    def remove_name(self) -> str:
        return self.add_prefix(self.remove_field)


# The wording of the representative's fields, by audience: on the public form the representative is usually the
# person typing ("you", "them"); staff type about both.
REPRESENTATIVE_WORDS = {
    "public": {
        "name": ("Your full name", ""),
        "relationship": ("Your relationship to them", "For example: daughter, friend, accountant, solicitor."),
        "email": ("Your email address", ""),
        "phone": ("Your phone number", "Optional."),
        "address": ("Your postal address", "Needed only if you would like letters by post."),
        "consent_note": (
            "How did they agree to you complaining for them?",
            (
                "For example: they signed a letter of authority (attach it under Documents), or they asked me to in "
                "person. We may check with them."
            ),
        ),
        "consent_given_on": ("When did they agree?", ""),
        "correspondence_to": ("Who should we write to?", "Our emails, letters and the link to follow the complaint."),
    },
    "staff": {
        "name": ("Representative's full name", ""),
        "relationship": ("Relationship to the client", "For example: daughter, accountant, solicitor."),
        "email": ("Representative's email address", ""),
        "phone": ("Representative's phone number", "Optional."),
        "address": ("Representative's postal address", "Optional, unless they are to get letters by post."),
        "consent_note": (
            "How the client gave consent",
            'For example: "Signed letter of authority, scanned" or "Client confirmed by phone to J. Smith".',
        ),
        "consent_given_on": ("Date of consent", ""),
        "correspondence_to": ("Letters and emails go to", "The secure link to the case goes to them too."),
    },
}
PUBLIC_CORRESPONDENCE = [
    (Complaint.Correspondence.CLIENT, "Only them"),
    (Complaint.Correspondence.REPRESENTATIVE, "Only me"),
    (Complaint.Correspondence.BOTH, "Both of us"),
]


def representative_fields(audience: str, *, prefix: str = "") -> dict[str, forms.Field]:
    """The fields of a representative (``services.RepresentativeDetails``), named ``<prefix><field>``."""
    words = REPRESENTATIVE_WORDS[audience]

    def label(name):
        return words[name][0]

    def hint(name):
        return words[name][1]

    made: dict[str, forms.Field] = {
        "name": _text(label("name"), required=False, help_text=hint("name")),
        "relationship": _text(label("relationship"), required=False, max_length=100, help_text=hint("relationship")),
        "email": forms.EmailField(
            label=label("email"),
            required=False,
            max_length=254,
            help_text=hint("email"),
            widget=forms.EmailInput(attrs={"spellcheck": "false"}),
            error_messages={"invalid": "Enter an email address like name@example.com."},
        ),
        "phone": forms.CharField(
            label=label("phone"),
            required=False,
            max_length=40,
            help_text=hint("phone"),
            widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
        ),
        "address": _area(label("address"), required=False, rows=3, help_text=hint("address")),
        "consent_note": _area(label("consent_note"), required=False, rows=2, help_text=hint("consent_note")),
        "consent_given_on": forms.DateField(
            label=label("consent_given_on"),
            required=False,
            help_text=hint("consent_given_on"),
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            error_messages={"invalid": "Enter a real date, like 14/03/2026."},
        ),
        "correspondence_to": forms.ChoiceField(
            label=label("correspondence_to"),
            choices=PUBLIC_CORRESPONDENCE if audience == "public" else Complaint.Correspondence.choices,
            initial=Complaint.Correspondence.BOTH,
            required=False,
            widget=forms.RadioSelect,
            help_text=hint("correspondence_to"),
        ),
    }
    if audience == "staff":  # someone else's details: the browser must not offer the user's own
        for name in ("name", "email", "phone", "address"):
            made[name].widget.attrs["autocomplete"] = "off"
    return {f"{prefix}{name}": field for name, field in made.items()}


def check_phone(phone: str) -> str:
    phone = phone.strip()
    if phone and (not PHONE_CHARACTERS.match(phone) or sum(ch.isdigit() for ch in phone) < 7):
        raise ValidationError("Enter a phone number with at least 7 digits, like 01494 123456 or +44 7700 900123.")
    return phone


def representative_from(data: dict, *, prefix: str = "", consent_document_id: int | None = None):
    """The representative a form's cleaned data describes (None when its fields were left empty)."""
    details = RepresentativeDetails(
        name=(data.get(f"{prefix}name") or "").strip(),
        relationship=(data.get(f"{prefix}relationship") or "").strip(),
        email=data.get(f"{prefix}email") or "",
        phone=data.get(f"{prefix}phone") or "",
        address=(data.get(f"{prefix}address") or "").strip(),
        consent_note=(data.get(f"{prefix}consent_note") or "").strip(),
        consent_given_on=data.get(f"{prefix}consent_given_on"),
        consent_document_id=consent_document_id,
        correspondence_to=data.get(f"{prefix}correspondence_to") or Complaint.Correspondence.BOTH,
    )
    return None if details.is_empty else details


class ComplaintDetailsForm(DocumentsMixin, forms.Form):
    """Every intake field of docs/specification.md; the public and staff forms set what is required."""

    audience = "public"

    name = _text("Full name", autocomplete="name")
    email = forms.EmailField(
        label="Email address",
        required=False,
        max_length=254,
        help_text="We send the acknowledgement and your reference number here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label="Phone number",
        required=False,
        max_length=40,
        help_text="Optional, unless you would like us to phone you.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    organisation = _text(
        "Organisation",
        required=False,
        autocomplete="organization",
        help_text="If you are complaining on behalf of a company or other body.",
    )
    preferred_contact = forms.ChoiceField(
        label="How should we contact you?",
        choices=ContactMethod.choices,
        initial=ContactMethod.EMAIL,
        widget=forms.RadioSelect,
        help_text="Letters about the outcome are also emailed if we have your email address.",
    )
    postal_address = _area(
        "Postal address",
        required=False,
        rows=4,
        autocomplete="street-address",
        help_text="Needed only if you would like us to write to you by post.",
    )
    incident_date = forms.DateField(
        label="Date of the incident",
        required=False,
        help_text="When it happened, or when it started. An approximate date is fine.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    description = _area(
        "What went wrong?",
        rows=8,
        help_text="Tell us what happened, who was involved and how it affected you.",
    )
    desired_outcome = _area(
        "What would put it right?",
        required=False,
        rows=4,
        help_text="Optional. For example an apology, a correction, a refund or a change in how we work.",
    )
    access_needs = forms.MultipleChoiceField(
        label="Is there anything that would help you?",
        choices=Complaint.AccessNeed.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Optional. Tick any that apply: we will work this way with you.",
    )
    access_needs_detail = _area(
        "Anything else that would help",
        required=False,
        rows=2,
        help_text="Optional. For example a time of day to call, or someone to speak to on your behalf.",
    )
    documents = MultipleFileField(
        label="Supporting documents",
        required=False,
        help_text="",  # set in __init__ from the settings
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Someone complaining on the client's behalf: after the client's fields, before the documents.
        documents = self.fields.pop("documents")
        self.fields.update(representative_fields(self.audience, prefix=REPRESENTATIVE_PREFIX))
        self.fields["documents"] = documents
        self.annotate_widgets()

    def clean_phone(self) -> str:
        return check_phone(self.cleaned_data["phone"])

    def clean_representative_phone(self) -> str:
        return check_phone(self.cleaned_data["representative_phone"])

    @property
    def representative(self) -> RepresentativeDetails | None:
        return representative_from(self.cleaned_data, prefix=REPRESENTATIVE_PREFIX)

    @property
    def representative_open(self) -> bool:
        """Show the representative's section opened: something was typed in it."""
        if not self.is_bound:
            return False
        return any(
            (self.data.get(self.add_prefix(name)) or "").strip()
            for name in self.fields
            if name.startswith(REPRESENTATIVE_PREFIX) and name != f"{REPRESENTATIVE_PREFIX}correspondence_to"
        )

    @property
    def writes_to_client(self) -> bool:
        """Does the client receive the correspondence (no representative, or one who shares it)?"""
        representative = self.representative
        return representative is None or representative.correspondence_to != Complaint.Correspondence.REPRESENTATIVE

    def clean_incident_date(self):
        day = self.cleaned_data["incident_date"]
        if day and day > london_today():
            raise ValidationError("The date of the incident cannot be in the future.")
        return day

    def clean(self):
        data = super().clean()
        representative = self.representative
        if representative is not None:
            for name, message in representative.problems().items():
                field = f"{REPRESENTATIVE_PREFIX}{name}"
                if field not in self._errors:
                    self.add_error(field, message)
        if not self.writes_to_client:
            return data  # the client's own contact details are not how we reach them
        method = data.get("preferred_contact")
        if method == ContactMethod.EMAIL and not data.get("email") and "email" not in self._errors:
            self.add_error("email", "Enter an email address, or choose another way for us to contact you.")
        if method == ContactMethod.PHONE and not data.get("phone") and "phone" not in self._errors:
            self.add_error("phone", "Enter a phone number so that we can call you, or choose another way.")
        if method == ContactMethod.POST and not data.get("postal_address", "").strip():
            self.add_error(
                "postal_address", "Enter a postal address so that we can write to you, or choose another way."
            )
        return data

    # -- results -------------------------------------------------------------------

    def details(self) -> ComplaintDetails:
        data = self.cleaned_data
        return ComplaintDetails(
            access_needs=tuple(data.get("access_needs") or ()),
            access_needs_detail=(data.get("access_needs_detail") or "").strip(),
            name=data["name"].strip(),
            email=data.get("email") or "",
            phone=data.get("phone") or "",
            organisation=(data.get("organisation") or "").strip(),
            preferred_contact=data["preferred_contact"],
            postal_address=(data.get("postal_address") or "").strip(),
            incident_date=data.get("incident_date"),
            description=data["description"].strip(),
            desired_outcome=(data.get("desired_outcome") or "").strip(),
            representative=self.representative,
        )


class PublicComplaintForm(ComplaintDetailsForm):
    """The public web form: an email address is needed for the acknowledgement."""

    privacy_ack = forms.BooleanField(
        label="I have read the privacy notice and understand how my information will be used.",
        error_messages={"required": "Please confirm that you have read the privacy notice."},
    )
    # Honeypot: hidden from people by CSS (and from screen readers by aria-hidden); bots fill it in.
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        required = {
            "name": "Enter your full name.",
            "incident_date": "Enter the date of the incident (an approximate date is fine).",
            "description": "Tell us what went wrong.",
            "preferred_contact": "Choose how we should contact you.",
        }
        for name, message in required.items():
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = message
        self.fields["email"].help_text = (
            "We send the acknowledgement and your reference number here. Needed unless someone is complaining for "
            "you and our emails go only to them."
        )
        self.fields["email"].error_messages["invalid"] = "Enter an email address like name@example.com."
        self.fields["incident_date"].error_messages["invalid"] = "Enter a real date, like 14/03/2026."
        # No annotate_widgets() again: only required flags, messages and a hint's words changed, and
        # the marks ComplaintDetailsForm made depend on whether there is a hint and on errors alone.

    def clean(self):
        data = self.cleaned_data
        # The reference number goes by email at once: to the client, or to the representative writing for them.
        representative = self.representative
        if self.writes_to_client:
            if not data.get("email") and "email" not in self._errors:
                self.add_error("email", "Enter your email address, so that we can send your reference number.")
        elif representative is not None and not representative.email and "representative_email" not in self._errors:
            self.add_error(
                "representative_email", "Enter your email address, so that we can send the reference number."
            )
        return super().clean()

    @property
    def is_bot(self) -> bool:
        """The honeypot was filled in: only a bot sees that field."""
        return self.is_bound and bool((self.data.get(self.add_prefix("website")) or "").strip())


class StaffComplaintForm(ComplaintDetailsForm):
    """A complaints lead logs a complaint that came by phone, email, letter or in person.

    Without an email address the client is acknowledged by a posted letter, so a
    postal address is then required. Deadlines run from ``received_at``.
    """

    audience = "staff"

    channel = forms.ChoiceField(
        label="How did the complaint arrive?",
        choices=[(value, label) for value, label in Complaint.Channel.choices if value != Complaint.Channel.WEB],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the complaint arrived."},
    )
    received_at = TimeOfReceiptField(what="the complaint")

    field_order = ["channel", "received_at"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        labels = {
            "name": ("Complainant's full name", None),
            "email": (
                "Complainant's email address",
                "Optional. With it the client is acknowledged by email; without it you get a letter to post.",
            ),
            "phone": ("Complainant's phone number", "Optional."),
            "organisation": ("Organisation", "If the complaint is made on behalf of a company or other body."),
            "preferred_contact": ("How does the client want to be contacted?", None),
            "postal_address": ("Postal address", "Needed if there is no email address, or if they prefer post."),
            "incident_date": ("Date of the incident", "Optional. When it happened, if known."),
            "description": ("The complaint", "In the client's words as far as possible."),
            "desired_outcome": ("What would put it right, for the client", "Optional."),
            "documents": (
                "Documents",
                f"For example a scanned letter or the email. {self.fields['documents'].help_text}",
            ),
        }
        for name, (label, hint) in labels.items():
            self.fields[name].label = label
            if hint is not None:
                self.fields[name].help_text = hint
        # The base class already made bound fields (which copy the label): make them again with the staff wording.
        self._bound_fields_cache.clear()
        self.fields["name"].error_messages["required"] = "Enter the complainant's full name."
        self.fields["description"].error_messages["required"] = "Describe the complaint."
        # Staff type someone else's details: the browser must not offer their own.
        for name in ("name", "email", "phone", "organisation", "postal_address"):
            self.fields[name].widget.attrs["autocomplete"] = "off"
        self.annotate_widgets()

    def clean_received_at(self):
        moment = self.cleaned_data["received_at"]
        now = timezone.now()
        if moment > now + CLOCK_SLACK:
            raise ValidationError("The time of receipt cannot be in the future.")
        if moment < now - MAX_LOGGING_DELAY:
            raise ValidationError("That is more than a year ago: please check the year.")
        return moment

    def clean(self):
        data = super().clean()
        no_address = not (data.get("postal_address") or "").strip()
        if no_address and not data.get("email") and not {"email", "postal_address"} & set(self._errors):
            self.add_error(
                "postal_address",
                "Without an email address the acknowledgement goes by post: enter a postal address.",
            )
        return data


class NewLinkForm(AccessibleForm):
    """The public "Get a new link to my complaint": the reference and the email address on the complaint."""

    reference = forms.CharField(
        label="Your reference number",
        max_length=40,
        help_text="It looks like JPD-2026-00012-K: it is in our emails and letters about your complaint.",
        error_messages={"required": "Enter your reference number."},
    )
    email = forms.EmailField(
        label="The email address you gave us",
        max_length=254,
        help_text="We send the link to the address on the complaint, and nowhere else.",
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address like name@example.com.",
        },
    )

    def clean_reference(self) -> str:
        parsed = references.parse_reference(self.cleaned_data["reference"])
        if parsed is None:
            raise ValidationError(
                "This is not one of our reference numbers: check it against our email or letter "
                "(it looks like JPD-2026-00012-K, and the letter at the end must match)."
            )
        return str(parsed)
