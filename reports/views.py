"""Reports pages (issue 6): parse the choice of period, call a selector, render. Leads and Directors only."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import forbidden, staff_required
from cases import business_days
from notifications.rendering import render_pdf
from reports import charts, selectors
from reports.export import csv_lines
from reports.forms import ReportForm
from reports.permissions import can_read_reports
from reports.selectors import Filters, Period


def reports_required(view):
    """Staff sign-in first (cases.access), then the role: complaints leads and Directors only."""

    @staff_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_read_reports(request.user):
            return forbidden(request, "Reports are for complaints leads and Directors.")
        return view(request, *args, **kwargs)

    return wrapped


def _form(request) -> tuple[ReportForm, str]:
    today = business_days.london_today()
    form = ReportForm(request.GET, today=today)
    fields = [name for name in form.fields if request.GET.get(name)]
    return form, urlencode([(name, request.GET[name]) for name in fields])


@require_GET
@reports_required
def report_page(request):
    form, query = _form(request)
    context = {"form": form, "query": query, "active": "report"}
    if form.is_valid():
        figures = selectors.report(form.report_period, form.report_filters)
        lessons = selectors.lessons(form.report_period, form.report_filters)
        survey = selectors.satisfaction(form.report_period, form.report_filters)
        context.update(
            period=form.report_period,
            figures=figures,
            charts={**_charts(figures), "satisfaction": _satisfaction_chart(survey)},
            lessons=lessons,
            survey=survey,
        )
    return render(request, "reports/report.html", context, status=200 if form.is_valid() else 400)


@require_GET
@reports_required
def trend_page(request):
    form, query = _form(request)
    today = business_days.london_today()
    filters = form.report_filters if form.is_valid() else Filters()
    period = Period.last_twelve_months(today)
    months = selectors.monthly(period, filters, today)
    context = {"form": form, "query": query, "period": period, "active": "trend", **_trend_context(months)}
    return render(request, "reports/trend.html", context)


@require_GET
@reports_required
def export_csv(request):
    form, _ = _form(request)
    if not form.is_valid():
        return render(request, "reports/report.html", {"form": form}, status=400)
    figure = request.GET.get("figure", "all")
    try:
        cases = selectors.cases_for_figure(form.report_period, form.report_filters, figure)
    except KeyError:
        return HttpResponse("No such figure.", status=404, content_type="text/plain")
    response = StreamingHttpResponse(csv_lines(selectors.export_rows(cases)), content_type="text/csv; charset=utf-8")
    period = form.report_period
    name = f"complaints-{figure}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@reports_required
def annual_pdf(request, year: int):
    if not 2000 <= year <= 2100:
        return HttpResponse("No such year.", status=404, content_type="text/plain")
    period = Period.year(year)
    filters = Filters()
    figures = selectors.report(period, filters)
    months = selectors.monthly(period, filters)
    context = {
        "period": period,
        "figures": figures,
        "charts": _charts(figures),
        "generated_on": business_days.london_today(),
        "shares": [
            ("Acknowledged within 2 business days", figures.acknowledgement),
            ("Answered within 10 business days", figures.outcome),
            ("Appeals decided within 15 business days", figures.appeal),
        ],
        **_trend_context(months),
    }
    pdf = render_pdf("reports/annual_summary.html", context)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="complaint-handling-summary-{year}.pdf"'
    return response


# --- what the templates draw ---------------------------------------------------------------------


def _charts(figures: selectors.Figures) -> dict:
    stage_rows = [
        (label, figures.medians[name]) for name, label in _SHORT_STAGES.items() if figures.medians.get(name) is not None
    ]
    return {
        "ack_bar": charts.share_bar(figures.acknowledgement.on_time, figures.acknowledgement.late),
        "outcome_bar": charts.share_bar(figures.outcome.on_time, figures.outcome.late),
        "appeal_bar": charts.share_bar(figures.appeal.on_time, figures.appeal.late),
        "channel": charts.bar_chart([(label, n) for _, label, n in figures.by_channel]),
        "category": charts.bar_chart([(row["name"], row["total"]) for row in figures.by_category]),
        "outcomes": charts.bar_chart([(label, n) for _, label, n in figures.outcomes], colour=charts.AMBER),
        "shares": charts.bar_chart(
            [
                (label, share.percent or 0)
                for label, share in (
                    ("Acknowledged in 2 days", figures.acknowledgement),
                    ("Answered in 10 days", figures.outcome),
                    ("Appeals decided in 15", figures.appeal),
                )
            ],
            unit="%",
            colour=charts.GREEN,
            maximum=100,
        ),
        "stages": charts.bar_chart(stage_rows, colour=charts.GREY),
        "actions": charts.bar_chart(
            [
                ("Open", figures.actions.get("open", 0)),
                ("Overdue", figures.actions.get("overdue", 0)),
                ("Done", figures.actions.get("done", 0)),
            ],
            colour=charts.BLUE,
        ),
        "root_causes": charts.bar_chart([(row["name"], row["total"]) for row in figures.top_root_causes]),
        "categories_at_fault": charts.bar_chart(
            [(row["name"], row["fault"]) for row in figures.top_categories_at_fault], colour=charts.RED
        ),
    }


def _satisfaction_chart(survey) -> str:
    """The three questions' averages, out of 5."""
    rows = [
        (label, average or 0)
        for label, average in zip(
            ("Handled fairly", "Kept informed", "Reasons clear"), survey.overall.averages, strict=True
        )
    ]
    return charts.bar_chart(rows, colour=charts.GREEN, maximum=5)


_SHORT_STAGES = {
    "acknowledgement": "Acknowledge",
    "outcome": "Answer",
    "appeal_acknowledgement": "Acknowledge appeal",
    "appeal_decision": "Decide appeal",
}


def _trend_context(months: list) -> dict:
    labels = [f"{month:%b %y}" for month, _ in months]
    series = [
        ("Acknowledged in 2 days", [figures.acknowledgement.percent for _, figures in months]),
        ("Answered in 10 days", [figures.outcome.percent for _, figures in months]),
        ("Appeals decided in 15", [figures.appeal.percent for _, figures in months]),
    ]
    # Root causes over time: each cause recorded in the months shown, with its count month by month.
    causes: dict[str, list[int]] = {}
    for index, (_, figures) in enumerate(months):
        for row in figures.top_root_causes:
            causes.setdefault(row["name"], [0] * len(months))[index] = row["total"]
    return {
        "months": months,
        "cause_rows": sorted(causes.items(), key=lambda item: (-sum(item[1]), item[0])),
        "received_chart": charts.bar_chart(
            [(label, figures.received) for label, (_, figures) in zip(labels, months, strict=True)]
        ),
        "on_time_chart": charts.line_chart(labels, series),
        "on_time_legend": [
            (name, charts.swatch(colour)) for name, colour in charts.legend([name for name, _ in series])
        ],
    }
