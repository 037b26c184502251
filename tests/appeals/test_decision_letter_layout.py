"""The decision letter's last page: the closing paragraph travels with the signature, never its last line alone."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.utils import timezone

from appeals import services
from appeals.models import Appeal
from notifications.rendering import render_pdf
from tests.factories import director
from tests.services import missing

pytestmark = pytest.mark.django_db

SENTENCE = "I have read the engineer's notes, the invoices and the emails exchanged in March with care. "


def pages_of(pdf: bytes) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return text.decode().split("\f")


def test_the_closing_paragraph_is_never_split_from_the_signature(appeal_factory):
    if shutil.which("pdftotext") is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    appeal = appeal_factory()
    the_director = director(first_name="Ngozi", last_name="Adeyemi")
    split = []
    # Reasons from a few lines to well over a page: the page break falls everywhere in the closing part.
    for sentences in range(6, 60, 3):
        context = services.decision_letter_context(
            appeal=appeal,
            decision=Appeal.Decision.ORIGINAL_DECISION_UPHELD,
            reasons=SENTENCE * sentences,
            recommendations="",
            actions=[],
            issued_at=timezone.now(),
            decided_by=the_director,
        )
        pages = [page for page in pages_of(render_pdf("letters/appeal_decision.html", context)) if page.strip()]
        last = pages[-1]
        assert "Ngozi Adeyemi" in last
        if "This decision is final" not in last or "quoting" not in last:
            split.append(sentences)
    assert split == [], f"the closing paragraph was split from the signature with {split} sentences of reasons"
