"""Secure links that let a client follow their own case without an account.

The one way the product makes a link that is its own key (``sign``, ``unsign``): a token signed with the
site's secret under a salt of its own, expiring, whose values name what it opens. The client's case link
below; the satisfaction survey's link (``satisfaction/links.py``) is made the same way.

A client's link carries a signed token naming one case (its public id, never the
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
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases.models import Complaint

SALT = "cases.client-link.v1"


@dataclass(frozen=True)
class Signed:
    """What a signed token held: its values (None when forged or signed for another purpose), and whether it
    is genuine but older than its maximum age (its values can still be read: the signature is ours)."""

    values: Any = None
    expired: bool = False


def sign(values: list, *, salt: str) -> str:
    return signing.dumps(values, salt=salt, compress=True)


def unsign(token: str, *, salt: str, max_age: timedelta) -> Signed:
    try:
        return Signed(signing.loads(token, salt=salt, max_age=max_age))
    except signing.SignatureExpired:
        return Signed(signing.loads(token, salt=salt), expired=True)
    except signing.BadSignature:
        return Signed()


def client_token(complaint: Complaint) -> str:
    return sign([complaint.public_id.hex, complaint.client_link_version], salt=SALT)


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
    signed = unsign(token, salt=SALT, max_age=max_age())
    if signed.values is None:
        return LinkCheck()
    payload = signed.values
    complaint = _complaint_for(payload)
    if signed.expired:
        # Genuine but too old: the signature is ours, so the payload can be read.
        return LinkCheck(stale_for=complaint.main_case if complaint is not None else None)
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
