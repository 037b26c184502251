"""Celery tasks of the complaints app: thin wrappers around services."""

from celery import shared_task

from cases import uploads


@shared_task(ignore_result=True)
def purge_stale_uploads() -> int:
    """Delete documents kept between posts of a form that was never finished (older than a day).

    Run hourly by beat (CELERY_BEAT_SCHEDULE). A finished form deletes its own
    staging at once; this only clears what abandoned forms left behind.
    """
    return uploads.purge_stale_staging()


@shared_task(ignore_result=True, acks_late=True)
def sweep_deadlines() -> str:
    """Run the deadline sweep (cases.deadlines): reminders, escalations and closures, each exactly once.

    ``acks_late``: a worker killed mid-run leaves the task to be run again; the
    sweep's notices make the rerun send only what the first run did not commit.
    """
    from cases.deadlines import deadlines_sweep

    return str(deadlines_sweep())


@shared_task(ignore_result=True, acks_late=True)
def anonymise_expired_cases() -> int:
    """Anonymise the cases closed or withdrawn more than RETENTION_YEARS ago (cases.retention).

    Run daily by beat. Batches commit one by one, so a run killed midway keeps
    what it finished and the next run does the rest; a case is never done twice.
    """
    from cases.retention import retention_sweep

    return retention_sweep()
