"""What the apps above add to the staff dashboard: registered in their ``AppConfig.ready``.

The dashboard (``cases.selectors.complaint_dashboard``) lists cases; other work with a due date
(emails waiting for a complaints lead, from the inbound app) is not a case, and cases does not
import the apps above it. Such an app registers a provider: given the user and the day, it says
what to add (or None for a user it has nothing for): a tab of its own (a link to its page, with a
count), and its items due soon or overdue, counted in those tabs and listed above their cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ExtraItem:
    """One item with a due date, as the deadline tabs list it."""

    label: str  # what it is, already worded ("Email from Ada Lovelace: The firewall...")
    url: str
    due: date
    arrived_at: datetime
    why: str = ""


@dataclass(frozen=True)
class Extra:
    key: str
    label: str  # the tab's words
    url: str
    count: int  # the tab's count
    # Counted in the deadline tabs; the first ones listed above their cases.
    due_soon_count: int = 0
    overdue_count: int = 0
    due_soon: list[ExtraItem] = field(default_factory=list)
    overdue: list[ExtraItem] = field(default_factory=list)


Provider = Callable[..., Extra | None]  # provider(user=..., today=..., horizon=...)
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def extras_for(*, user, today: date, horizon: date) -> list[Extra]:
    """What every registered app adds for ``user`` (in the order the apps registered)."""
    found = (provider(user=user, today=today, horizon=horizon) for provider in _providers)
    return [extra for extra in found if extra is not None]
