"""The survey's results, for the reports page (``reports.views``) and the published annual report.

Counted: the surveys of the complaints a report counts (the caller's condition on ``Complaint``, reached
from the survey as ``complaint__``), so the results follow the same complaints as every other figure of the
period. One grouped query gives every table (by outcome in force, by the stage the complaint closed at, by
channel); the latest comments are a second, short one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Q, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf

from cases.models import Complaint
from satisfaction.models import Survey

QUESTIONS = tuple(Survey.QUESTIONS)
# The questions as results are headed (the form asks "Was your complaint handled fairly?"; a report says of whom).
SUMMARIES = {
    "fair": "The complaint was handled fairly",
    "informed": "The client was kept informed",
    "clear": "The reasons for the decision were clear",
}
# The stage a complaint closed at: when the time to appeal our response ended, or with the Director's decision.
STAGES = {"response": "Closed after our response", "appeal": "Closed after an appeal"}
COMMENTS_SHOWN = 20


@dataclass
class Scores:
    """Surveys sent and answered, and the sum of each question's answers (averages are worked out from them)."""

    sent: int = 0
    answered: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUESTIONS, 0))

    def add(self, row: Mapping[str, Any]) -> None:
        self.sent += row["sent"]
        self.answered += row["answered"]
        for name in QUESTIONS:
            self.sums[name] += row[name] or 0

    def average(self, name: str) -> float | None:
        return None if not self.answered else round(self.sums[name] / self.answered, 1)

    @property
    def averages(self) -> list[float | None]:
        """Each question's average, in the order of ``Survey.QUESTIONS`` (what the tables show)."""
        return [self.average(name) for name in QUESTIONS]

    @property
    def response_rate(self) -> float | None:
        return None if not self.sent else round(100 * self.answered / self.sent, 1)


@dataclass
class Results:
    overall: Scores
    by_outcome: list[tuple[str, Scores]]
    by_stage: list[tuple[str, Scores]]
    by_channel: list[tuple[str, Scores]]
    comments: list[dict] = field(default_factory=list)

    @property
    def tables(self) -> list[tuple[str, str, str, list[tuple[str, Scores]]]]:
        """(id, heading, caption, rows) of each breakdown, for the page."""
        return [
            (
                "outcome",
                "By outcome (as the Director changed it on appeal)",
                "Average answers out of 5 by the outcome in force",
                self.by_outcome,
            ),
            (
                "stage",
                "By the stage the complaint closed at",
                "Average answers out of 5 by the stage the complaint closed at",
                self.by_stage,
            ),
            (
                "channel",
                "By channel",
                "Average answers out of 5 by the channel the complaint came in by",
                self.by_channel,
            ),
        ]


def results(complaints: Q, *, with_comments: bool = True) -> Results:
    """The results for the surveys of the complaints matching ``complaints`` (a condition with prefix
    ``complaint__``): two queries with the comments, one without."""
    rows = (
        Survey.objects.filter(complaints)
        .values(
            "complaint__channel",
            # The outcome in force: the Director's where the appeal changed it (as reports.tally counts it).
            outcome=Coalesce(NullIf("complaint__appeal__new_outcome", Value("")), "complaint__outcome"),
            stage=Case(
                When(complaint__appeal__decided_at__isnull=False, then=Value("appeal")), default=Value("response")
            ),
        )
        .annotate(
            sent=Count("pk"),
            answered=Count("answered_at"),
            **{name: Sum(name) for name in QUESTIONS},
        )
        .order_by()
    )
    overall = Scores()
    by_outcome = {value: Scores() for value in Complaint.Outcome.values}
    by_stage = {value: Scores() for value in STAGES}
    by_channel = {value: Scores() for value in Complaint.Channel.values}
    for row in rows:
        overall.add(row)
        for table, key in (
            (by_outcome, row["outcome"]),
            (by_stage, row["stage"]),
            (by_channel, row["complaint__channel"]),
        ):
            table.setdefault(key, Scores()).add(row)
    comments = latest_comments(complaints) if with_comments and overall.answered else []
    return Results(
        overall=overall,
        by_outcome=[(Complaint.Outcome(value).label, by_outcome[value]) for value in Complaint.Outcome.values],
        by_stage=[(label, by_stage[value]) for value, label in STAGES.items()],
        by_channel=[(label, by_channel[value]) for value, label in Complaint.Channel.choices],
        comments=comments,
    )


def latest_comments(complaints: Q, limit: int = COMMENTS_SHOWN) -> list[dict]:
    """The newest comments clients wrote, with their case's reference (staff only: a comment is personal data)."""
    rows = (
        Survey.objects.filter(complaints, answered_at__isnull=False)
        .exclude(comment="")
        .order_by("-answered_at", "-pk")
        .values("complaint__reference", "answered_at", "comment", *QUESTIONS)[:limit]
    )
    return [
        {
            "reference": row["complaint__reference"],
            "answered_at": row["answered_at"],
            "comment": row["comment"],
            "scores": [row[name] for name in QUESTIONS],
        }
        for row in rows
    ]
