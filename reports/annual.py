"""The published annual report (issue 20, point 2): the Director's yearly summary of complaint handling.

A version of a year's report (``reports.models.AnnualReport``) holds a frozen snapshot of the year's figures
(``annual_figures``: the reports' own figures, ``reports.selectors.report`` over the calendar year, and the
satisfaction survey's results) and the Director's words: an optional foreword and what changed because of
the root causes. Its life:

    draft --approve--> approved --publish--> published --(a later version published)--> superseded
      ^                   |
      +--back to draft----+

* Only a Director (``reports.publish_annualreport``, granted to the Directors' group in accounts/roles.py)
  starts a version, edits it, refreshes its figures, approves and publishes it; complaints leads read the
  drafts with the other reports; the public sees published versions only.
* Approval and publication record who and when; a year is approved only once it has ended, with the
  Director's account of what changed.
* A published version never changes (``AnnualReport.save`` refuses it). To correct a year, the Director
  starts a new version (the words of the last one copied in); publishing it supersedes the old one, which
  stays readable, and the public page says "Version 2, published ..., replaces version 1".
* No personal data: the snapshot holds counts, shares and the administrator's names of channels, outcomes
  and root causes, and nothing typed about a case (no lesson, no reference, no name). Small numbers: the
  tables are one-way totals (no cross-tabulation that could single out a complaint); a root cause recorded
  for fewer than ``SMALL_NUMBER`` complaints is counted under "Other causes" rather than named, and the
  survey's averages are published only from ``SURVEY_MINIMUM`` answers. The Director's words are checked
  for case references, email addresses and the names of the year's clients before they are saved.
* The PDF is made once, when the version is published, from the snapshot, after the transaction commits (no
  lock held while WeasyPrint works), and stored: every reader gets the same file, and a public address never
  makes the server render a PDF. Should storage fail then, it is made when first asked for.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases import business_days
from cases.models import Complaint
from cases.references import IN_TEXT
from notifications.rendering import render_pdf
from reports import charts, selectors
from reports.models import AnnualReport
from reports.selectors import Figures, Filters, Period
from satisfaction import selectors as survey_selectors

logger = logging.getLogger(__name__)

State = AnnualReport.State
PUBLISH = "reports.publish_annualreport"
SCHEMA = 1
# A root cause recorded for fewer complaints than this is counted under "Other causes", not named.
SMALL_NUMBER = 3
# How many named root causes the report lists (the rest are counted under "Other causes").
TOP_CAUSES = 5
# The survey's averages are published only from this many answers.
SURVEY_MINIMUM = 5
FIRST_YEAR = 2000
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def can_publish(user) -> bool:
    """May ``user`` start, edit, approve and publish the annual report (the Director's role)?"""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(PUBLISH))


# --- the figures -----------------------------------------------------------------------------------


def annual_figures(year: int, today: date | None = None) -> dict[str, Any]:
    """The year's figures as they stand on ``today``, as the JSON a version keeps (no personal data)."""
    today = today or business_days.london_today()
    period = Period.year(year)
    figures = selectors.report(period, Filters(), today)
    survey = survey_selectors.results(selectors.cohort_q(period, Filters(), "complaint__"), with_comments=False)
    return snapshot(period, figures, survey, today)


def snapshot(period: Period, figures: Figures, survey: survey_selectors.Results, today: date) -> dict[str, Any]:
    """The figures a public reader may see, as plain JSON (a pure function of the reports' figures)."""
    named = [row for row in figures.by_root_cause if row["id"] is not None]
    shown = [row for row in named if row["total"] >= SMALL_NUMBER][:TOP_CAUSES]
    shown_ids = {row["id"] for row in shown}
    overall = survey.overall
    return {
        "schema": SCHEMA,
        "year": period.first.year,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "as_of": today.isoformat(),
        "received": figures.received,
        "channels": [[label, count] for _, label, count in figures.by_channel],
        "promises": [
            {"label": label, "on_time": share.on_time, "late": share.late, "percent": share.percent}
            for label, share in (
                ("Acknowledged within 2 business days", figures.acknowledgement),
                ("Answered within 10 business days of the acknowledgement", figures.outcome),
                ("Appeals decided within 15 business days", figures.appeal),
            )
        ],
        "medians": [[label, value] for _, label, value in figures.stage_list],
        "responded": figures.responded,
        "withdrawn": figures.withdrawn,
        "outcomes": [[label, count] for _, label, count in figures.outcomes],
        "appeals": {
            "appealed": figures.appealed,
            "rate": figures.appeal_rate,
            "decided": figures.appeals_decided,
            "changed": figures.appeals_changed,
            "changed_share": figures.changed_share,
        },
        "root_causes": [[row["name"], row["total"]] for row in shown],
        "other_causes": sum(row["total"] for row in named if row["id"] not in shown_ids),
        "no_cause": sum(row["total"] for row in figures.by_root_cause if row["id"] is None),
        "satisfaction": (
            {
                "sent": overall.sent,
                "answered": overall.answered,
                "averages": [[summary, overall.average(name)] for name, summary in survey_selectors.SUMMARIES.items()],
            }
            if overall.answered >= SURVEY_MINIMUM
            else {"sent": overall.sent, "answered": overall.answered, "averages": []}
        ),
    }


# --- what the page and the PDF draw ------------------------------------------------------------------


def report_context(report: AnnualReport) -> dict[str, Any]:
    """Everything the public page, the staff preview and the PDF show of one version: its snapshot, its
    words, its charts (inline SVG), and its place among the year's published versions."""
    figures = report.figures
    promises = figures["promises"]
    versions = published_versions(report.year)
    return {
        "report": report,
        "f": figures,
        "first": date.fromisoformat(figures["first"]),
        "last": date.fromisoformat(figures["last"]),
        "as_of": date.fromisoformat(figures["as_of"]),
        "charts": {
            "channels": charts.bar_chart([(label, n) for label, n in figures["channels"]]),
            "outcomes": charts.bar_chart([(label, n) for label, n in figures["outcomes"]], colour=charts.AMBER),
            "promises": charts.bar_chart(
                [
                    (short, row["percent"] or 0)
                    for short, row in zip(
                        ("Acknowledged in 2 days", "Answered in 10 days", "Appeals decided in 15"),
                        promises,
                        strict=True,
                    )
                ],
                unit="%",
                colour=charts.GREEN,
                maximum=100,
            ),
            "causes": charts.bar_chart(
                [(name, n) for name, n in figures["root_causes"]]
                + ([("Other causes", figures["other_causes"])] if figures["other_causes"] else [])
            ),
        },
        "versions": versions,
        "replaces": next((v for v in reversed(versions) if v.version < report.version), None),
        "replaced_by": next((v for v in versions if v.version > report.version), None),
        "small_number": SMALL_NUMBER,
        "survey_minimum": SURVEY_MINIMUM,
    }


def published_versions(year: int) -> list[AnnualReport]:
    """The year's published versions, oldest first (what "replaces version 1" and the history list read)."""
    return list(
        AnnualReport.objects.filter(year=year, state__in=AnnualReport.PUBLIC)
        .select_related("published_by")
        .order_by("version")
    )


def render_report_pdf(report: AnnualReport, *, preview: bool = False) -> bytes:
    return render_pdf("reports/annual_report_pdf.html", {**report_context(report), "is_preview": preview})


def report_file(report: AnnualReport) -> AnnualReport:
    """A published version with its PDF in storage (made now if storing it after publishing failed)."""
    if not report.pdf:
        _store_pdf(report)
    return report


def _store_pdf(report: AnnualReport) -> None:
    """Render and store the PDF, unless another process stored one first (then that one stays)."""
    pdf = render_report_pdf(report)
    storage = report.pdf.storage
    name = storage.save(f"annual-reports/{report.year}-version-{report.version}.pdf", ContentFile(pdf))
    if AnnualReport.objects.filter(pk=report.pk, pdf="").update(pdf=name):
        report.pdf.name = name
        return
    storage.delete(name)
    report.refresh_from_db(fields=["pdf"])


def _store_pdf_after_commit(report_id: int) -> None:
    """The PDF of a version just published (never raises: ``report_file`` makes it later if this fails)."""
    report = AnnualReport.objects.filter(pk=report_id).first()
    if report is None or report.pdf:
        return
    try:
        _store_pdf(report)
    except Exception as error:  # noqa: BLE001 - storage down: the first reader makes the PDF
        logger.warning("Annual report %s: PDF not stored after publishing (%s)", report_id, type(error).__name__)


# --- the Director's words ------------------------------------------------------------------------------


def personal_data_problem(text: str, year: int) -> str:
    """Why ``text`` may not go on a public page (it names a case or a person), or ""."""
    if IN_TEXT.search(text):
        return "Remove the case reference: the report is public and names no complaint."
    if EMAIL_IN_TEXT.search(text):
        return "Remove the email address: the report is public and names nobody."
    folded = text.casefold()
    period = Period.year(year)
    people = (
        Complaint.objects.filter(received_at__gte=period.starts_at, received_at__lt=period.ends_before)
        .filter(anonymised_at__isnull=True)
        .values_list("name", "representative_name", "organisation")
    )
    for values in people.iterator(chunk_size=2000):
        for value in values:
            words = value.split()
            # Full names and organisations of two words or more: one word ("Smith", "Services") is too common.
            if len(words) >= 2 and re.search(rf"\b{re.escape(' '.join(words).casefold())}\b", folded):
                return f"Remove “{value}”: the report is public and names none of the year's clients."
    return ""


# --- the workflows ------------------------------------------------------------------------------------------


class StaleReport(Exception):
    """The version changed since the form was opened: nothing was saved."""


def _check_director(actor) -> None:
    if not can_publish(actor):
        raise PermissionDenied("Only a Director may prepare, approve and publish the annual report.")


def _locked(report: AnnualReport, expected_revision: int | None) -> AnnualReport:
    locked = AnnualReport.objects.select_for_update().get(pk=report.pk)
    if expected_revision is not None and locked.revision != expected_revision:
        raise StaleReport(
            f"Version {locked.version} of the {locked.year} report changed while you were looking at it "
            f"(it is now {locked.get_state_display().lower()}): nothing was saved. Look again, then try once more."
        )
    return locked


def _move(locked: AnnualReport, target: str, *, fields: tuple[str, ...] = ()) -> None:
    """Change the version's state as ``AnnualReport.TRANSITIONS`` allows, or refuse with the reason."""
    if target not in locked.TRANSITIONS[locked.state]:
        raise ValidationError(
            f"Version {locked.version} of the {locked.year} report is {locked.get_state_display().lower()}: "
            f"it cannot become {State(target).label.lower()}."
        )
    locked.state = target
    locked.revision += 1
    locked.save(update_fields=["state", "revision", "updated_at", *fields])


def _check_year(year: int, today: date) -> None:
    if not FIRST_YEAR <= year <= today.year:
        raise ValidationError(f"There is no report for {year}: choose a year from {FIRST_YEAR} to {today.year}.")


def annual_report_start(*, actor, year: int, today: date | None = None) -> AnnualReport:
    """A new version of the year's report, as a draft with the figures of today; the words of the last published
    version copied in. If the year already has a version in the making, that one is returned."""
    _check_director(actor)
    today = today or business_days.london_today()
    _check_year(year, today)
    existing = AnnualReport.objects.filter(year=year, state__in=[State.DRAFT, State.APPROVED]).first()
    if existing is not None:
        return existing
    figures = annual_figures(year, today)  # the reporting queries, before any row is locked
    latest = AnnualReport.objects.filter(year=year).order_by("-version").first()
    words = AnnualReport.objects.filter(year=year, state__in=AnnualReport.PUBLIC).order_by("-version").first()
    try:
        with transaction.atomic():
            return AnnualReport.objects.create(
                year=year,
                version=(latest.version if latest else 0) + 1,
                figures=figures,
                figures_as_of=today,
                foreword=words.foreword if words else "",
                changes=words.changes if words else "",
                created_by=actor,
            )
    except IntegrityError:
        # Another Director started the same year a moment ago: theirs is the draft.
        return AnnualReport.objects.get(year=year, state__in=[State.DRAFT, State.APPROVED])


def annual_report_edit(
    *, actor, report: AnnualReport, foreword: str, changes: str, expected_revision: int | None = None
) -> AnnualReport:
    """The Director's words on a draft, checked for personal data first."""
    _check_director(actor)
    foreword, changes = foreword.strip(), changes.strip()
    problems = {
        name: problem
        for name, text in (("foreword", foreword), ("changes", changes))
        if (problem := personal_data_problem(text, report.year))
    }
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        locked = _locked(report, expected_revision)
        if not locked.is_draft:
            raise ValidationError(
                f"Version {locked.version} is {locked.get_state_display().lower()}: only a draft can be changed."
            )
        locked.foreword, locked.changes = foreword, changes
        locked.revision += 1
        locked.save(update_fields=["foreword", "changes", "revision", "updated_at"])
    return locked


def annual_report_refresh(
    *, actor, report: AnnualReport, expected_revision: int | None = None, today: date | None = None
) -> AnnualReport:
    """A draft's figures taken again, as they stand today (outcomes and appeals decided since are counted)."""
    _check_director(actor)
    today = today or business_days.london_today()
    figures = annual_figures(report.year, today)  # before the lock
    with transaction.atomic():
        locked = _locked(report, expected_revision)
        if not locked.is_draft:
            raise ValidationError(
                f"Version {locked.version} is {locked.get_state_display().lower()}: only a draft's figures change."
            )
        locked.figures, locked.figures_as_of = figures, today
        locked.revision += 1
        locked.save(update_fields=["figures", "figures_as_of", "revision", "updated_at"])
    return locked


def approval_problems(report: AnnualReport, today: date) -> list[str]:
    """What stops a draft from being approved (the year not over, no account of what changed), or []."""
    problems = []
    if today <= date(report.year, 12, 31):
        problems.append(f"The year {report.year} has not ended: its report can be approved from 1 January.")
    if not report.changes.strip():
        problems.append("Say what changed because of the root causes before approving.")
    return problems


def annual_report_approve(
    *, actor, report: AnnualReport, expected_revision: int | None = None, now: datetime | None = None
) -> AnnualReport:
    """draft → approved: the Director approves the figures and the words as they are; recorded (who, when)."""
    _check_director(actor)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(report, expected_revision)
        problems = approval_problems(locked, business_days.london_date(now)) if locked.is_draft else []
        if problems:
            raise ValidationError(problems)
        locked.approved_by, locked.approved_at = actor, now
        _move(locked, State.APPROVED, fields=("approved_by", "approved_at"))
    return locked


def annual_report_return_to_draft(*, actor, report: AnnualReport, expected_revision: int | None = None) -> AnnualReport:
    """approved → draft, to change it: the approval is withdrawn (it must be given again)."""
    _check_director(actor)
    with transaction.atomic():
        locked = _locked(report, expected_revision)
        locked.approved_by, locked.approved_at = None, None
        _move(locked, State.DRAFT, fields=("approved_by", "approved_at"))
    return locked


def annual_report_publish(
    *, actor, report: AnnualReport, expected_revision: int | None = None, now: datetime | None = None
) -> AnnualReport:
    """approved → published: on the public site from now, recorded (who, when); the year's version published
    before is superseded in the same transaction. The PDF is stored once the transaction commits."""
    _check_director(actor)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(report, expected_revision)
        # The version in public view so far (locked: two publications of one year queue one after the other).
        replaced = (
            AnnualReport.objects.select_for_update()
            .filter(year=locked.year, state=State.PUBLISHED)
            .exclude(pk=locked.pk)
            .first()
        )
        if locked.state == State.APPROVED and replaced is not None:
            _move(replaced, State.SUPERSEDED)
        locked.published_by, locked.published_at = actor, now
        _move(locked, State.PUBLISHED, fields=("published_by", "published_at"))
        transaction.on_commit(partial(_store_pdf_after_commit, locked.pk))
    return locked


# --- what the pages read --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearRow:
    """One year on the staff list: its versions, newest first."""

    year: int
    versions: list[AnnualReport]

    @property
    def in_making(self) -> AnnualReport | None:
        return next((v for v in self.versions if v.state in (State.DRAFT, State.APPROVED)), None)

    @property
    def current(self) -> AnnualReport | None:
        return next((v for v in self.versions if v.state == State.PUBLISHED), None)


def years_for_staff() -> list[YearRow]:
    rows: dict[int, list[AnnualReport]] = {}
    for report in AnnualReport.objects.select_related("published_by", "approved_by").order_by("-year", "-version"):
        rows.setdefault(report.year, []).append(report)
    return [YearRow(year, versions) for year, versions in rows.items()]


def current_published() -> list[AnnualReport]:
    """The version in public view of each year, newest year first."""
    return list(AnnualReport.objects.filter(state=State.PUBLISHED).order_by("-year"))


def public_version(year: int, version: int | None = None) -> AnnualReport | None:
    """A published version (the one in public view when ``version`` is None); None for a draft or nothing."""
    found = AnnualReport.objects.filter(year=year, state__in=AnnualReport.PUBLIC)
    found = found.filter(version=version) if version is not None else found.filter(state=State.PUBLISHED)
    return found.first()


def startable_years(today: date) -> list[int]:
    """The years a Director may start a version for: the last few, newest first, except those with a version in
    the making (which is opened instead)."""
    busy = set(AnnualReport.objects.filter(state__in=[State.DRAFT, State.APPROVED]).values_list("year", flat=True))
    return [year for year in range(today.year, max(FIRST_YEAR, today.year - 5) - 1, -1) if year not in busy]
