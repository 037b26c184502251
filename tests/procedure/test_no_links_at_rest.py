"""No working secret at rest in what staff read or export (issue 19, point 1).

The emails sent to a client carry their secure link; the copies we keep of them (the outbox rows, read by
the superuser in the admin and exported for a subject access request) have every link's token masked, as
the logs do. Every token-looking string in each export format and admin page is tried as a client token.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess

import pytest
from django.apps import apps
from django.core import mail
from django.urls import reverse

from cases import links, services
from notifications.models import OutboundMessage
from tests.appeals.helpers import deliver, lodged, responded
from tests.factories import UserFactory, lead, manager
from tests.services import missing

pytestmark = pytest.mark.django_db

EMAIL = "tamsin@example.org"
# A signed token (django.core.signing, compressed): payload:timestamp:signature.
TOKEN_LIKE = re.compile(r"\.?[A-Za-z0-9_-]{8,}:[A-Za-z0-9_-]{4,}:[A-Za-z0-9_-]{20,}")


def working_tokens(text: str) -> list[str]:
    """Every string in ``text`` that is a genuine client token (good, expired or revoked)."""
    found = []
    for candidate in TOKEN_LIKE.findall(text):
        check = links.check_client_token(candidate)
        if check.ok or check.stale_for is not None:
            found.append(candidate)
    return found


@pytest.fixture
def emailed():
    """A complaint whose client got their link in several emails, and pasted it into a message of theirs."""
    worker = manager()
    complaint = responded(worker, assignee=worker, name="Tamsin Tregothnan", email=EMAIL)
    deliver(kind="outcome_letter")
    lodged(complaint)
    services.client_write(complaint=complaint, text=f"My link, in case you need it: {links.client_url(complaint)}")
    return complaint


def test_the_email_sent_carries_the_working_link_and_its_stored_copy_does_not(emailed):
    sent = [m for m in mail.outbox if m.to == [EMAIL]]
    stored = OutboundMessage.objects.filter(complaint=emailed, state=OutboundMessage.State.SENT)

    assert len(sent) >= 2
    assert all(working_tokens(m.body) for m in sent)  # the tokens are found where they are
    assert all(working_tokens(m.alternatives[0][0]) for m in sent)
    assert stored.count() == len(sent)
    for message in stored:
        assert "/track/[token]/" in message.body_text
        assert "/track/[token]/" in message.body_html
        assert working_tokens(message.body_text + message.body_html) == []


def test_the_json_export_holds_no_working_link(client, emailed):
    client.force_login(lead())

    response = client.post(reverse("staff:subject_access"), {"email": EMAIL, "file_format": "json"})

    assert response.status_code == 200
    text = response.content.decode()
    assert "/track/[token]/" in text
    assert working_tokens(text) == []
    assert working_tokens(json.dumps(json.loads(text))) == []


def test_the_pdf_export_holds_no_working_link(client, emailed):
    client.force_login(lead())

    response = client.post(reverse("staff:subject_access"), {"email": EMAIL, "file_format": "pdf"})

    assert response.status_code == 200
    if shutil.which("pdftotext") is None:
        missing("needs pdftotext from poppler-utils (apt-get install poppler-utils)")
    for layout in (["-layout"], ["-raw"]):
        text = subprocess.run(
            ["pdftotext", *layout, "-", "-"], input=response.content, capture_output=True, check=True
        ).stdout.decode()
        assert "/track/[token]/" in text
        assert working_tokens(text) == []
        assert working_tokens(re.sub(r"\s+", "", text)) == []  # a token the PDF broke across lines


def test_the_admin_pages_that_show_emails_hold_no_working_link(client, emailed):
    client.force_login(UserFactory(is_superuser=True))
    pages = [reverse("admin:notifications_outboundmessage_changelist")] + [
        reverse("admin:notifications_outboundmessage_change", args=[pk])
        for pk in OutboundMessage.objects.filter(complaint=emailed).values_list("pk", flat=True)
    ]

    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        assert working_tokens(response.content.decode()) == []
    first_sent = OutboundMessage.objects.filter(complaint=emailed, to_email=EMAIL, state="sent").first()
    shown = client.get(reverse("admin:notifications_outboundmessage_change", args=[first_sent.pk]))
    assert "/track/[token]/" in shown.content.decode()  # the email's copy is shown, its link masked


def test_copies_stored_before_the_release_are_masked_by_the_migration(emailed):
    message = OutboundMessage.objects.filter(complaint=emailed, state=OutboundMessage.State.SENT).first()
    url = links.client_url(emailed)
    OutboundMessage.objects.filter(pk=message.pk).update(
        body_text=f"Follow it here: {url}", body_html=f'<a href="{url}">{url}</a>'
    )
    migration = importlib.import_module("notifications.migrations.0009_mask_links_in_stored_copies")

    migration.mask_stored_copies(apps, None)

    message.refresh_from_db()
    assert message.body_text == "Follow it here: http://testserver/track/[token]/"
    assert message.body_html == '<a href="http://testserver/track/[token]/">http://testserver/track/[token]/</a>'
