"""Our emails' Message-IDs carry a signed token of their case, so a reply finds its case from its headers alone.

``<{outbox row}.{case public id}.{signature}@{our domain}>``: the outbox row keeps the ID the same
on every attempt to send one email (a client's mail system drops a duplicate); the case's public
id, signed with the site's secret, lets the reader of complaints@ find the case a reply belongs to
from its In-Reply-To or References, and lets nobody forge one. (Emails sent before this format, or
without a case, are ``<{outbox row}@{our domain}>``; a reply to one is found by the Message-ID
kept on its outbox row.)
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from django.conf import settings
from django.core import signing

SALT = "notifications.threading.case"
_signer = signing.Signer(salt=SALT, sep=".")
OURS = re.compile(r"^(?P<row>[0-9a-f]{32})\.(?P<case>[0-9a-f]{32})\.(?P<signature>[A-Za-z0-9_-]+)@(?P<domain>.+)$")


def our_domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


def message_id(row_id_hex: str, case_public_id_hex: str | None) -> str:
    """The Message-ID header of one outbox row (with its case's signed token when it has a case)."""
    if case_public_id_hex is None:
        return f"<{row_id_hex}@{our_domain()}>"
    return f"<{row_id_hex}.{_signer.sign(case_public_id_hex)}@{our_domain()}>"


def case_public_id(message_id_value: str) -> str | None:
    """The case public id a Message-ID of ours names, if its signature is good (else None)."""
    found = OURS.match(message_id_value.strip().strip("<>"))
    if found is None:
        return None
    try:
        return _signer.unsign(f"{found['case']}.{found['signature']}")
    except signing.BadSignature:
        return None
