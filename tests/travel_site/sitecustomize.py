"""Move this process's clock with the test session's (tests/clock.py): only when tests started it.

A test session run with ``--at`` puts this folder on ``PYTHONPATH`` and the offset in seconds
between its clock and the real one in ``JPDIT_TRAVEL_OFFSET``; every Python process the tests
start (gunicorn, Celery, ``manage.py``) then runs on the same travelled clock, ticking.
"""

import os

_offset = os.environ.get("JPDIT_TRAVEL_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
