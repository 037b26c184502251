"""Reads of the outbox for the readiness check and the administrator's Operations page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from notifications.models import OutboundMessage
from notifications.services import NEEDS_ATTENTION


@dataclass(frozen=True)
class Backlog:
    """The emails not yet sent: how many, and how long the oldest has waited."""

    pending: int
    oldest_created_at: datetime | None
    now: datetime

    @property
    def oldest_age(self) -> timedelta | None:
        return None if self.oldest_created_at is None else max(self.now - self.oldest_created_at, timedelta(0))


def outbox_backlog(*, now: datetime | None = None, webhooks: bool = False) -> Backlog:
    """Pending emails (those written to go later included: their wait is part of the figure), one query.

    ``webhooks=True``: the webhook deliveries instead, counted apart (an endpoint that is down for a day must
    not look like mail that cannot go out).
    """
    figures = OutboundMessage.objects.filter(
        state=OutboundMessage.State.PENDING, endpoint__isnull=not webhooks
    ).aggregate(pending=Count("pk"), oldest=Min("created_at"))
    return Backlog(pending=figures["pending"], oldest_created_at=figures["oldest"], now=now or timezone.now())


def messages_needing_attention() -> QuerySet[OutboundMessage]:
    """Emails that failed (the relay refused them every time) or bounced, and webhook deliveries that failed, not
    yet dealt with; newest first."""
    return (
        OutboundMessage.objects.filter(state__in=NEEDS_ATTENTION, handled_at__isnull=True)
        .select_related("complaint", "endpoint")
        .only(
            "pk",
            "kind",
            "state",
            "attempts",
            "last_error",
            "bounce_status",
            "created_at",
            "sent_at",
            "bounced_at",
            "complaint__reference",
            "client_visible",
            "endpoint__name",
        )
        .order_by("-created_at", "-pk")
    )
