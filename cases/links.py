"""Secure links that let a client follow their own case without an account.

A link carries a signed token naming one case (its public id, never the
reference) and the case's current link version. It expires after
``settings.CLIENT_LINK_MAX_AGE_DAYS``, and staff revoke every link sent so far by
bumping ``Complaint.client_link_version``. Knowing a reference number is useless
without one. A link to a duplicate merged into another case opens that main case
(``Complaint.main_case``): the link checks the duplicate's version and age, the page
shows where the case is followed now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases.models import Complaint

SALT = "cases.client-link.v1"


def client_token(complaint: Complaint) -> str:
    return signing.dumps([complaint.public_id.hex, complaint.client_link_version], salt=SALT, compress=True)


def client_url(complaint: Complaint) -> str:
    return settings.SITE_URL + reverse("client:case", args=[client_token(complaint)])


def max_age() -> timedelta:
    return timedelta(days=settings.CLIENT_LINK_MAX_AGE_DAYS)


@dataclass(frozen=True)
class LinkCheck:
    """What a token turned out to be: a case the holder may see, or why not."""

    complaint: Complaint | None = None
    # The case a genuine but expired or revoked link was for: it may be sent a
    # fresh link, to the email address on the case and nowhere else.
    stale_for: Complaint | None = None

    @property
    def ok(self) -> bool:
        return self.complaint is not None


def check_client_token(token: str) -> LinkCheck:
    """Resolve a token to its case, distinguishing forged, stale and good links."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired:
        # Genuine but too old: the signature is ours, so the payload can be read.
        payload = signing.loads(token, salt=SALT)
        complaint = _complaint_for(payload)
        return LinkCheck(stale_for=complaint.main_case if complaint is not None else None)
    except signing.BadSignature:
        return LinkCheck()
    complaint = _complaint_for(payload)
    if complaint is None:
        return LinkCheck()
    if payload[1] != complaint.client_link_version:
        return LinkCheck(stale_for=complaint.main_case)
    main = complaint.main_case
    if main is not complaint and main.anonymised_at is not None:
        # Merged into a case whose personal data is gone: as dead as that case's own links.
        return LinkCheck(stale_for=main)
    return LinkCheck(complaint=main)


def _complaint_for(payload) -> Complaint | None:
    """The case a token names (its main case joined in, for a duplicate merged into one)."""
    try:
        public_id, _version = payload
        return Complaint.objects.select_related("merged_into").get(public_id=public_id)
    except (ValueError, TypeError, ValidationError, Complaint.DoesNotExist):
        return None
