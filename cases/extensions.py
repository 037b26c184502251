"""What the apps above add to the staff pages of cases: registered in their ``AppConfig.ready``.

The cases app does not import the apps above it (docs/architecture.md), yet two of its pages
show their work:

* the dashboard (``cases.selectors.with_extras``) lists cases; other work with a due date
  (emails waiting for a complaints lead, from the inbound app) is not a case. A dashboard
  provider, given the user and the day, says what to add, or None for a user it has nothing for:
  a tab of its own (a link to its page, with a count), and its items due soon or overdue,
  counted in those tabs and listed above their cases;
* the case page (``cases.views.case``) links to the records of other apps about the case (the
  emails it came from or that joined it). A case-links provider, given the user and the case,
  returns the links that user may follow (an empty list otherwise).
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


@dataclass(frozen=True)
class CaseLink:
    """A record of another app about a case, as the case page lists it."""

    label: str  # already worded, client text included ("Email: The firewall is still down")
    url: str
    at: datetime  # when it reached us
    note: str = ""  # what it became ("New complaint", "Message from the client on their case")


Provider = Callable[..., Extra | None]  # provider(user=..., today=..., horizon=...)
CaseLinksProvider = Callable[..., list[CaseLink]]  # provider(user=..., complaint=...)
_providers: list[Provider] = []
_case_link_providers: list[CaseLinksProvider] = []


def register(provider: Provider) -> None:
    """Add a dashboard provider (once, however often ``ready`` runs)."""
    if provider not in _providers:
        _providers.append(provider)


def register_case_links(provider: CaseLinksProvider) -> None:
    """Add a case-links provider (once, however often ``ready`` runs)."""
    if provider not in _case_link_providers:
        _case_link_providers.append(provider)


def extras_for(*, user, today: date, horizon: date) -> list[Extra]:
    """What every registered app adds to the dashboard for ``user`` (in the order the apps registered)."""
    found = (provider(user=user, today=today, horizon=horizon) for provider in _providers)
    return [extra for extra in found if extra is not None]


def case_links_for(*, user, complaint) -> list[CaseLink]:
    """The links every registered app gives ``user`` on the page of ``complaint``."""
    return [link for provider in _case_link_providers for link in provider(user=user, complaint=complaint)]
