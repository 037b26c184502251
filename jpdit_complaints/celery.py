"""The Celery application, wired as cookiecutter-django does it.

All configuration lives in Django settings under the ``CELERY_`` prefix; tasks are
discovered in each installed app's ``tasks.py``.
"""

from celery import Celery

from jpdit_complaints import request_id
from jpdit_complaints.environment import use_default_settings

use_default_settings()

app = Celery("jpdit_complaints")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id travels with each task a request queues (its signal handlers, connected on import).
__all__ = ["app", "request_id"]
