"""The shape of a JSON log line (production): the same for Django's, Celery's and gunicorn's loggers.

One object per line: ``time``, ``level``, ``logger``, ``event`` and, on a request's lines and the lines of
the tasks it queued, ``request_id`` (``jpdit_complaints.request_id``). Used by ``LOGGING`` in the settings
and by gunicorn's own logging (``jpdit_complaints.gunicorn_conf``).
"""

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "message": "event"},
}
