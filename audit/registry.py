"""What is audited: the apps above register their URLs here (in ``AppConfig.ready``).

The audit app sits below the apps whose pages it records, so it never imports them; each
app says which of its URL names concern a case, in what words, and how to find the case
from the URL's arguments (a queryset of complaints, resolved inside the audit entry's own
INSERT). ``audit.middleware`` reads this registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from audit.models import AuditEntry

VIEW, DOWNLOAD, EXPORT, CHANGE = (choice.value for choice in AuditEntry.Action)

# From a URL's arguments, the complaints it names (one at most), or None: resolved by the database.
CaseOf = Callable[[Mapping[str, Any]], QuerySet | None]


@dataclass(frozen=True)
class Audited:
    """What a request to one URL name means: the action and words for reading it, and for a POST."""

    action: str
    reading: str
    posting: str = ""
    # The URL argument naming the object within the case, and what it is.
    object_kwarg: str = ""
    object_kind: str = ""
    # How to find the case from the URL's arguments (None: the namespace's way, ``register_case_lookup``).
    case_of: CaseOf | None = None


# By URL namespace, then URL name.
_registry: dict[str, dict[str, Audited]] = {}
# By URL namespace: how to find the case of a URL of that namespace whose entry names no way of its own
# (the staff pages: from ``<reference>``), and of a case page added later without registering.
_defaults: dict[str, CaseOf] = {}


def register(namespace: str, entries: Mapping[str, Audited]) -> None:
    """Record what requests to these URL names of ``namespace`` mean (idempotent)."""
    known = _registry.setdefault(namespace, {})
    for name, entry in entries.items():
        if known.get(name, entry) != entry:
            raise ValueError(f"{namespace}:{name} is registered for the audit trail twice, differently.")
        known[name] = entry


def register_case_lookup(namespace: str, case_of: CaseOf) -> None:
    """How to find the case of this namespace's URLs by default (``Audited.case_of`` left None)."""
    _defaults[namespace] = case_of


def registered(namespace: str, name: str) -> Audited | None:
    return _registry.get(namespace, {}).get(name)


def case_lookup(namespace: str, rule: Audited) -> CaseOf | None:
    return rule.case_of or _defaults.get(namespace)


def int_argument(value: Any) -> int | None:
    """A URL argument as a database id, or None if it cannot be one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None
