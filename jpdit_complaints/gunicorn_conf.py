"""gunicorn's settings file (``--config python:jpdit_complaints.gunicorn_conf``, docker-compose.yml, Dockerfile).

Only its logging: with ``LOG_FORMAT=json`` (production's default, as in settings/production.py) gunicorn's
own lines and its access log are one JSON object per line, like the application's. The access line itself
is still made by ``gunicorn_logging.MaskedTokenLogger`` (path only, tokens masked) and becomes the ``event``.
"""

import os

from jpdit_complaints.log_format import JSON_FORMATTER

if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        # gunicorn's records carry no request id: an empty field rather than none.
        "filters": {"no_request": {"()": "jpdit_complaints.gunicorn_logging.NoRequestId"}},
        "formatters": {"json": JSON_FORMATTER},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["no_request"],
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
