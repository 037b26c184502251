"""The forms of the email queue's actions (each posts to its own address)."""

from __future__ import annotations

from django import forms

from cases.forms import AccessibleForm


class OpenAsComplaintForm(AccessibleForm):
    name = forms.CharField(label="Complainant's full name", max_length=200)
    email = forms.EmailField(label="Their email address", help_text="The acknowledgement goes here.")
    description = forms.CharField(label="The complaint", widget=forms.Textarea(attrs={"rows": 8}), max_length=20_000)


class ReferenceForm(AccessibleForm):
    reference = forms.CharField(
        label="Case reference", max_length=30, help_text="For example JPD-2026-00042-K (the letter is checked)."
    )


class AppealForm(ReferenceForm):
    late_reason = forms.CharField(
        label="Why a late appeal is accepted",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only if it arrived after the appeal window closed.",
    )


class ReasonForm(AccessibleForm):
    reason = forms.CharField(
        label="Why it is not a complaint",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: a general enquiry, passed to sales; spam; a duplicate of JPD-2026-00042-K.",
        max_length=2000,
    )
