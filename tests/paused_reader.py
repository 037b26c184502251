"""``python -m tests.paused_reader read_mail``: manage.py, with the mail reader stopping where a crash hurts most.

For tests/test_mail_faults.py (through ``Stack.pause_reader_after_store``): the first time the reader is
about to move a batch it has stored (committed) to Processed, it writes the batch's UIDs to the file
named by ``JPDIT_TEST_READER_PAUSE`` and sleeps for good, so the test can SIGKILL it exactly between the
database commit and the move. Only the tests read that variable; the product has no such switch.
"""

from __future__ import annotations

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

    marker = Path(os.environ["JPDIT_TEST_READER_PAUSE"])
    move = readers.ImapReader._move

    def move_or_pause(self, box, uids, folder):
        if uids and folder == settings.INBOUND_PROCESSED_FOLDER:
            marker.write_text(" ".join(map(str, uids)))
            while True:
                time.sleep(60)
        move(self, box, uids, folder)

    readers.ImapReader._move = move_or_pause
    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
