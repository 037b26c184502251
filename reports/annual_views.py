"""The annual report's pages (reports.annual): the staff's (drafts, approval, publishing) and the public's.

Staff: complaints leads and Directors read every version with the other reports; only a Director acts
(the services check ``reports.publish_annualreport``; a refused act gets the 403 page, nothing changed).
Public: published versions only; a draft's address answers 404 as a year with no report does.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import forbidden
from cases import business_days
from cases.downloads import private_file_response
from cases.forms import AccessibleForm
from reports import annual
from reports.models import AnnualReport
from reports.views import reports_required


class WordsForm(AccessibleForm):
    """The Director's words on a draft (checked for personal data by the service)."""

    expected_revision = forms.IntegerField(widget=forms.HiddenInput)
    foreword = forms.CharField(
        label="Introduction (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A few words from the Director opening the report. Public: name no client, case or colleague.",
    )
    changes = forms.CharField(
        label="What changed because of the root causes",
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="For each main root cause, what the firm changed or is changing. Needed before approval. "
        "Public: name no client, case or colleague; leave a blank line between paragraphs.",
    )


def director_required(view):
    """Reports' door first (leads and Directors), then the Director's role: anyone else gets the 403 page before
    anything is read or checked (the services check it again)."""

    @reports_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not annual.can_publish(request.user):
            return forbidden(request, "Only a Director prepares, approves and publishes the annual report.")
        return view(request, *args, **kwargs)

    return wrapped


def pdf_response(pdf: bytes, name: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _revision(request) -> int | None:
    raw = request.POST.get("expected_revision", "")
    return int(raw) if raw.isdigit() else None


def _see(report: AnnualReport):
    response = redirect(reverse("reports:annual_report", args=[report.pk]))
    response.status_code = 303
    return response


def _page(request, report: AnnualReport, *, form: WordsForm | None = None, errors=(), status: int = 200):
    today = business_days.london_today()
    director = annual.can_publish(request.user)
    context = {
        **annual.report_context(report),
        "active": "annual",
        "is_director": director,
        "form": form or WordsForm(initial={"foreword": report.foreword, "changes": report.changes}),
        "errors": list(errors),
        "approval_problems": annual.approval_problems(report, today) if report.is_draft else [],
        "staff_view": True,
    }
    return render(request, "reports/annual_staff_report.html", context, status=status)


@require_GET
@reports_required
def annual_list(request):
    today = business_days.london_today()
    context = {
        "active": "annual",
        "years": annual.years_for_staff(),
        "is_director": annual.can_publish(request.user),
        "startable": annual.startable_years(today),
        "default_year": today.year - 1,
    }
    return render(request, "reports/annual_list.html", context)


@require_POST
@director_required
def annual_start(request):
    raw = request.POST.get("year", "")
    if not raw.isdigit():
        messages.error(request, "Choose the year of the report.")
        return redirect("reports:annual_list")
    try:
        report = annual.annual_report_start(actor=request.user, year=int(raw))
    except PermissionDenied as refused:
        return forbidden(request, str(refused))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("reports:annual_list")
    return _see(report)


@require_GET
@reports_required
def annual_report(request, report_id: int):
    return _page(request, get_object_or_404(AnnualReport, pk=report_id))


@require_POST
@director_required
def annual_edit(request, report_id: int):
    report = get_object_or_404(AnnualReport, pk=report_id)
    form = WordsForm(request.POST)
    if not form.is_valid():
        return _page(request, report, form=form, status=400)
    data = form.cleaned_data
    try:
        annual.annual_report_edit(
            actor=request.user,
            report=report,
            foreword=data["foreword"],
            changes=data["changes"],
            expected_revision=data["expected_revision"],
        )
    except PermissionDenied as refused:
        return forbidden(request, str(refused))
    except annual.StaleReport as stale:
        report.refresh_from_db()
        return _page(request, report, form=form, errors=[str(stale)], status=409)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
            return _page(request, report, form=form, status=400)
        return _page(request, report, form=form, errors=error.messages, status=400)
    messages.success(request, "Saved. The report stays a draft until you approve it.")
    return _see(report)


def _act(request, report_id: int, service, done: str):
    """One of the Director's buttons: the service, then the page again (with why not, if it refused)."""
    report = get_object_or_404(AnnualReport, pk=report_id)
    try:
        service(actor=request.user, report=report, expected_revision=_revision(request))
    except PermissionDenied as refused:
        return forbidden(request, str(refused))
    except annual.StaleReport as stale:
        report.refresh_from_db()
        return _page(request, report, errors=[str(stale)], status=409)
    except ValidationError as error:
        report.refresh_from_db()
        return _page(request, report, errors=error.messages, status=400)
    messages.success(request, done)
    return _see(report)


@require_POST
@director_required
def annual_refresh(request, report_id: int):
    return _act(request, report_id, annual.annual_report_refresh, "The figures are taken again, as they stand today.")


@require_POST
@director_required
def annual_approve(request, report_id: int):
    return _act(request, report_id, annual.annual_report_approve, "Approved. Publish it when you are ready.")


@require_POST
@director_required
def annual_return(request, report_id: int):
    return _act(
        request, report_id, annual.annual_report_return_to_draft, "Back to draft: approve it again once changed."
    )


@require_POST
@director_required
def annual_publish(request, report_id: int):
    return _act(request, report_id, annual.annual_report_publish, "Published on the public site, with its PDF.")


@require_GET
@reports_required
def annual_preview_pdf(request, report_id: int):
    """Any version as a PDF: a draft's made now (marked as a draft), a published one as it was stored."""
    report = get_object_or_404(AnnualReport, pk=report_id)
    if report.is_public:
        return _stored_pdf(annual.report_file(report))
    name = f"complaint-handling-{report.year}-version-{report.version}-{report.state}.pdf"
    return pdf_response(annual.render_report_pdf(report, preview=True), name)


# --- the public pages ----------------------------------------------------------------------------------


def _stored_pdf(report: AnnualReport):
    return private_file_response(
        report.pdf,
        filename=f"complaint-handling-{report.year}-version-{report.version}.pdf",
        content_type="application/pdf",
    )


@require_GET
def public_list(request):
    return render(request, "reports/annual_public_list.html", {"reports": annual.current_published()})


@require_GET
def public_report(request, year: int, version: int | None = None):
    report = annual.public_version(year, version)
    if report is None:
        raise Http404("No published report.")
    return render(request, "reports/annual_public.html", annual.report_context(report))


@require_GET
def public_pdf(request, year: int, version: int):
    report = annual.public_version(year, version)
    if report is None:
        raise Http404("No published report.")
    return _stored_pdf(annual.report_file(report))
