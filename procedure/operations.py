"""What the administrator and the monitoring need to know about the running product.

``readiness``: can the product work right now? The probes of ``jpdit_complaints.health`` (database,
cache, broker, private storage, mail relay), with the outbox's backlog and the deadline sweep's last
run. ``overview``: the Operations page's figures (emails that failed or bounced, webhook deliveries that
failed, the backlogs, the sweep).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from jpdit_complaints.health import readiness_checks
from notifications.models import OutboundMessage
from notifications.selectors import Backlog, messages_needing_attention, outbox_backlog
from procedure.models import SweepLock
from procedure.sweep import last_sweep

OK = "ok"


async def _run_probes() -> dict[str, str]:
    checks = readiness_checks()
    results = await asyncio.gather(*(check.get_result() for check in checks.values()))
    return {
        name: OK if result.error is None else str(result.error) for name, result in zip(checks, results, strict=True)
    }


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]
    backlog: Backlog
    sweep: SweepLock | None
    now: datetime

    @property
    def ready(self) -> bool:
        return all(outcome == OK for outcome in self.checks.values())

    def summary(self) -> dict:
        """All an anonymous caller is told: ready or not (the status code says the same)."""
        return {"status": "ready" if self.ready else "not ready"}

    def details(self) -> dict:
        """The answer for an administrator: each service, the oldest unsent email, the sweep's last run."""
        oldest = self.backlog.oldest_age
        sweep = self.sweep
        return {
            **self.summary(),
            "checks": self.checks,
            "outbox": {
                "pending": self.backlog.pending,
                "oldest_pending_age_seconds": None if oldest is None else int(oldest.total_seconds()),
            },
            "deadline_sweep": {
                "last_run_at": None if sweep is None or sweep.last_run_at is None else sweep.last_run_at.isoformat(),
                "age_seconds": None
                if sweep is None or sweep.last_run_at is None
                else int((self.now - sweep.last_run_at).total_seconds()),
                "counts": {} if sweep is None else sweep.last_run_counts,
            },
        }


def readiness(*, now: datetime | None = None) -> Readiness:
    """Probe every service (in parallel, each with a short timeout) and read the backlog and the sweep."""
    now = now or timezone.now()
    checks = async_to_sync(_run_probes)()
    return Readiness(checks=checks, backlog=outbox_backlog(now=now), sweep=last_sweep(), now=now)


# This process's last answer for anonymous callers: (monotonic time, ready).
_last_answer: list[tuple[float, bool]] = []


def is_ready() -> bool:
    """``readiness().ready``, reused for ``READYZ_CACHE_SECONDS``: each call probes five services."""
    if _last_answer and time.monotonic() - _last_answer[0][0] < settings.READYZ_CACHE_SECONDS:
        return _last_answer[0][1]
    ready = readiness().ready
    _last_answer[:] = [(time.monotonic(), ready)]
    return ready


@dataclass(frozen=True)
class Overview:
    needing_attention: QuerySet[OutboundMessage]
    backlog: Backlog
    webhook_backlog: Backlog
    sweep: SweepLock | None


def overview() -> Overview:
    """The Operations page: emails and webhooks to deal with, the backlogs, the sweep's last run."""
    return Overview(
        needing_attention=messages_needing_attention(),
        backlog=outbox_backlog(),
        webhook_backlog=outbox_backlog(webhooks=True),
        sweep=last_sweep(),
    )
