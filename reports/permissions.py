"""Who may read the reports (their pages, the CSV, the annual summary, and the API's figures): complaints leads
and Directors. The one statement of the rule; the reports pages (``reports.views``) and the API (``api.views``)
both ask it."""

from __future__ import annotations

from appeals.permissions import is_director
from cases.permissions import is_lead


def can_read_reports(user) -> bool:
    return is_lead(user) or is_director(user)
