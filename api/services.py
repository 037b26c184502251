"""API tokens: issued (the key shown once), found by their key, revoked; and every call recorded.

``token_issue`` makes the key and keeps only its hash; ``token_for_key`` is the one way a call's key becomes
a token (or a refusal); ``call_record`` writes the call to the audit trail (``audit.services.audit_cases``:
who, the token, what, which cases) with the token's "last used" in the same transaction, so a call costs
one commit.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.access import is_case_staff
from api.models import ApiToken
from audit.registry import VIEW
from audit.services import audit_cases

logger = logging.getLogger(__name__)

KEY_START = "jpdit_"
PREFIX_LENGTH = len(KEY_START) + 8
# "Last used" is written at most this often: a busy token costs no extra write per call.
TOUCH_INTERVAL = timedelta(minutes=1)
# Who may issue and revoke tokens: no staff role holds it, so administrators (superusers).
MANAGE_TOKENS = "api.add_apitoken"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_problems(*, user, scopes: Sequence[str], expires_at: datetime | None, now: datetime) -> dict[str, str]:
    """What is wrong with a token to issue, by field; empty when it can be issued."""
    found = {}
    if user is None or not is_case_staff(user):
        found["user"] = "Choose an active member of staff with a role in the complaints team."
    unknown = [scope for scope in scopes if scope not in ApiToken.Scope.values]
    if not scopes or unknown:
        found["scopes"] = "Choose what the token may read."
    elif ApiToken.Scope.PERSONAL_DATA in scopes and ApiToken.Scope.CASES not in scopes:
        found["scopes"] = "Personal data comes with the complaints: choose complaints too."
    if expires_at is None or expires_at <= now:
        found["expires_at"] = "Give a date in the future: every token expires."
    return found


def token_issue(*, name: str, user, scopes: Sequence[str], expires_at: datetime, issued_by) -> tuple[ApiToken, str]:
    """Issue a token acting as ``user``; returns it and its key, which is shown this once and never kept."""
    if not issued_by.has_perm(MANAGE_TOKENS):
        raise PermissionDenied("Only an administrator may issue API tokens.")
    now = timezone.now()
    problems = token_problems(user=user, scopes=scopes, expires_at=expires_at, now=now)
    if problems:
        raise ValidationError(problems)
    key = KEY_START + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        user=user,
        scopes=[scope for scope in ApiToken.Scope.values if scope in scopes],
        key_prefix=key[:PREFIX_LENGTH],
        key_hash=key_hash(key),
        created_at=now,
        created_by=issued_by,
        expires_at=expires_at,
    )
    logger.info("API token %s issued", token.pk)
    return token, key


def token_revoke(*, token: ApiToken, revoked_by) -> ApiToken:
    """Revoke a token at once (the next call with it is refused); revoking it again changes nothing."""
    if not revoked_by.has_perm(MANAGE_TOKENS):
        raise PermissionDenied("Only an administrator may revoke API tokens.")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    token.refresh_from_db()
    logger.info("API token %s revoked", token.pk)
    return token


class TokenRefused(Exception):
    """The key names no token that may be used now (unknown, revoked, expired, or its user switched off)."""


def token_for_key(key: str, *, now: datetime | None = None) -> ApiToken:
    """The token whose key this is, with its user, if it may be used now; one query."""
    now = now or timezone.now()
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    if token is None:
        raise TokenRefused("Invalid token.")
    refusal = token.refusal(now=now)
    if refusal:
        raise TokenRefused(refusal)
    return token


def _touch(token: ApiToken, now: datetime) -> None:
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def call_record(request, *, token: ApiToken, what: str, complaints: Iterable, status_code: int) -> None:
    """Record one call in the audit trail (one entry per case it read, or one naming none), with the token.

    The entry names the user the token acts as (``audit.services``) and, in its words, the token itself.
    Never raises: a failed write is logged and the answer goes out.
    """
    description = f'API, token "{token.name}" ({token.key_prefix}…): {what}'
    try:
        with transaction.atomic():
            _touch(token, timezone.now())
            audit_cases(request, action=VIEW, description=description, complaints=complaints, status_code=status_code)
    except DatabaseError as error:
        logger.warning("API call not recorded (%s) for %s", type(error).__name__, request.path)
