"""Personal data never appears in logs (issue 7, point 7): a complaint's whole first hour (filed on the
public form, its email sent, a delivery that fails, a failed sign-in with the client's address, staff
reading and downloading the case, an audit write that fails) logs nothing that names the client, at DEBUG."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from audit.models import AuditEntry
from cases import services
from cases.business_days import london_today
from cases.models import Complaint
from notifications.models import OutboundMessage
from notifications.tasks import deliver_message
from tests.factories import AttachmentFactory, lead

pytestmark = pytest.mark.django_db

NAME, EMAIL, PHONE = "Persephone Quillfeather", "persephone.quill@example.org", "07700 900123"
# Parts of them too: a log line that quotes "Quillfeather" alone leaks as much.
SECRETS = (NAME, "Persephone", "Quillfeather", EMAIL, "persephone.quill", PHONE, "07700", "900123")


def every_log_line(caplog) -> list[str]:
    """Each record as a handler would write it, traceback included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


def test_no_log_record_names_the_client(client, caplog, settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False
    caplog.set_level(logging.DEBUG)

    # 1. The client files a complaint on the public form.
    response = client.post(
        "/",
        {
            "name": NAME,
            "email": EMAIL,
            "phone": PHONE,
            "organisation": "Quill Holdings",
            "preferred_contact": "email",
            "postal_address": "",
            "incident_date": (london_today() - timedelta(days=3)).isoformat(),
            "description": f"{NAME} here: our firewall was changed and the VPN is down.",
            "desired_outcome": "Fix it.",
            "privacy_ack": "on",
            "website": "",
        },
    )
    assert response.status_code in (302, 303)
    complaint = Complaint.objects.get(email=EMAIL)

    # 2. Its acknowledgement is sent, as the worker sends it.
    acknowledgement = OutboundMessage.objects.get(complaint=complaint, kind="complaint_acknowledgement")
    assert deliver_message.apply(args=[acknowledgement.pk]).get() == "sent"

    # 3. A delivery fails, with a server answer that echoes the address.
    assert services.complaint_send_fresh_link(complaint=complaint)
    link = OutboundMessage.objects.get(complaint=complaint, kind="client_link")
    refusal = smtplib.SMTPRecipientsRefused({EMAIL: (550, f"5.1.1 <{EMAIL}> {NAME}: no such user".encode())})
    with mock.patch.object(EmailMultiAlternatives, "send", side_effect=refusal):
        assert deliver_message.apply(args=[link.pk]).get() == "failed"
    link.refresh_from_db()
    assert link.attempts == 1  # it really failed

    # 4. Someone tries to sign in to the staff pages with the client's address.
    failed = client.post(reverse("staff:login"), {"username": EMAIL, "password": "wrong password"})
    assert failed.status_code == 200

    # 5. A lead reads the case and downloads its document; then an audit write fails.
    client.force_login(lead())
    document = AttachmentFactory(complaint=complaint, original_name=f"{NAME}.txt")
    assert client.get(reverse("staff:case", args=[complaint.reference])).status_code == 200
    download = reverse("staff:attachment_download", args=[complaint.reference, document.pk])
    assert client.get(download).status_code == 200
    with mock.patch.object(AuditEntry, "save", side_effect=RuntimeError(f"boom {EMAIL}")):
        assert client.get(reverse("staff:case", args=[complaint.reference])).status_code == 200

    lines = every_log_line(caplog)
    assert len(lines) >= 3  # sent, failed, audit warning at least: the log was really captured
    assert any("failed (SMTPRecipientsRefused)" in line for line in lines)
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, f"a log record names the client: {line!r}"
