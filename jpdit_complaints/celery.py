"""The Celery application, wired as cookiecutter-django does it.

All configuration lives in Django settings under the ``CELERY_`` prefix; tasks are
discovered in each installed app's ``tasks.py``.

Database connections live across tasks, as they live across requests in the web server.
Celery's Django fix-up would close them before and after every task (a new PostgreSQL
connection for nearly every acknowledgement); ``CELERY_DB_REUSE_MAX`` (settings/base.py)
turns that off, and the handlers below apply Django's own per-request rule at each task's
start and end instead: ``close_old_connections`` drops a connection older than
``CONN_MAX_AGE``, one an error was raised on, or (``CONN_HEALTH_CHECKS``) one that no
longer answers, so a PostgreSQL restart costs no task.
"""

from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from jpdit_complaints import request_id
from jpdit_complaints.environment import use_default_settings

use_default_settings()

app = Celery("jpdit_complaints")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def reuse_database_connections(sender: Any = None, **kwargs: Any) -> None:
    # An eager task runs inside its caller (a request, a test), whose connection and transaction it
    # must leave alone, as Celery's fix-up does.
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()


# The request id travels with each task a request queues (its signal handlers, connected on import).
__all__ = ["app", "request_id"]
