"""Celery tasks of the procedure: thin wrappers around the sweep and the retention rules."""

from celery import shared_task

from procedure.retention import retention_sweep
from procedure.sweep import deadlines_sweep


@shared_task(ignore_result=True, acks_late=True)
def sweep_deadlines() -> str:
    """Run the deadline sweep (procedure.sweep): reminders, escalations and closures, each exactly once.

    ``acks_late``: a worker killed mid-run leaves the task to be run again; the
    sweep's notices make the rerun send only what the first run did not commit.
    """
    return str(deadlines_sweep())


@shared_task(ignore_result=True, acks_late=True)
def anonymise_expired_cases() -> int:
    """Anonymise the cases closed or withdrawn more than RETENTION_YEARS ago (procedure.retention).

    Run daily by beat. Batches commit one by one, so a run killed midway keeps
    what it finished and the next run does the rest; a case is never done twice.
    """
    return retention_sweep()
