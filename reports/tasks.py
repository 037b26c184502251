"""Celery tasks of the reports: thin wrappers around reports.summary."""

from celery import shared_task

from reports.summary import refresh


@shared_task(ignore_result=True, acks_late=True)
def refresh_report_summary() -> int:
    """Build the summary's months that are missing, changed since they were built, or counted with another calendar.

    Run by beat every REPORT_SUMMARY_MINUTES. Each month is built in its own transaction,
    so a run killed midway keeps what it finished; until a month is built again the
    reports count it live, so a late or missed run slows the reports down, never falsifies them.
    """
    return len(refresh())
