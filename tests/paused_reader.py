"""``python -m tests.paused_reader read_mail``: manage.py, with the mail reader pausing where a fault hurts most.

For tests/test_mail_faults.py (through ``Stack.reader_pauses``); only the tests read these variables, the
product has no such switch:

- ``JPDIT_TEST_READER_PAUSE=<file>``: the first time the reader is about to move a batch it has stored
  (committed) to Processed, it writes the batch's UIDs to the file and sleeps for good, so the test can
  SIGKILL it exactly between the database commit and the move;
- ``JPDIT_TEST_READER_HOLD=<file>``: after it stored the 5th message (in the middle of its first batch),
  it writes the file and waits until ``<file>.go`` exists, so the test can restart PostgreSQL under it.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

from jpdit_complaints.environment import use_default_settings


def main() -> None:
    use_default_settings()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import execute_from_command_line

    from inbound import readers

    if "JPDIT_TEST_READER_PAUSE" in os.environ:
        pause = Path(os.environ["JPDIT_TEST_READER_PAUSE"])
        move = readers.ImapReader._move

        def move_or_pause(self, box, uids, folder):
            if uids and folder == settings.INBOUND_PROCESSED_FOLDER:
                pause.write_text(" ".join(map(str, uids)))
                while True:
                    time.sleep(60)
            move(self, box, uids, folder)

        readers.ImapReader._move = move_or_pause

    if "JPDIT_TEST_READER_HOLD" in os.environ:
        hold = Path(os.environ["JPDIT_TEST_READER_HOLD"])
        store = readers.store
        stored = itertools.count(1)

        def store_or_hold(**kwargs):
            kept = store(**kwargs)
            if next(stored) == 5:
                hold.write_text("holding")
                while not hold.with_suffix(".go").exists():
                    time.sleep(0.05)
            return kept

        readers.store = store_or_hold

    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
