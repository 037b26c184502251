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
