"""The one way to make an email (subject/text/HTML trio) and a PDF letter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def base_context() -> dict[str, Any]:
    return {
        "company": settings.COMPANY,
        "site_url": settings.SITE_URL,
        "link_max_age_days": settings.CLIENT_LINK_MAX_AGE_DAYS,
    }


def render_email(template: str, context: dict[str, Any]) -> RenderedEmail:
    """Render ``templates/emails/<template>/{subject.txt,body.txt,body.html}``."""
    full = {**base_context(), **context}
    # A subject is one line whatever the data: no header can be split by input.
    subject = " ".join(render_to_string(f"emails/{template}/subject.txt", full).split())
    text = render_to_string(f"emails/{template}/body.txt", full).strip() + "\n"
    # Template tags leave blank lines behind: at most one empty line in a row.
    text = _BLANK_LINES.sub("\n\n", text)
    html = render_to_string(f"emails/{template}/body.html", full)
    return RenderedEmail(subject=subject, text=text, html=html)


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    """Render an HTML template to a PDF with WeasyPrint."""
    from weasyprint import HTML  # imported late: loading Pango costs time at start-up

    html = render_to_string(template, {**base_context(), **context})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
