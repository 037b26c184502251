"""Letters: the PDFs kept on a case (acknowledgements by post, outcomes, appeal decisions).

Like message kinds, letter kinds are registered by the apps that write them (``cases/letters.py``,
``appeals/letters.py``, in ``AppConfig.ready``; ``notifications.kinds``), each with the function that
renders its PDF from what the database holds (the case, its outcome or decision, its actions, the
letter's date).

A letter is recorded in the transaction of the change that issues it (``letter_issue``), and its
PDF is made and stored once that transaction commits: no file is written while the case row is
locked, and a transaction that rolls back leaves no file of personal data behind (it leaves no
row either). If storage is down at that moment, the row waits without a file; whoever needs the
PDF next (the email that carries it, a download) makes it then (``letter_file``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction

from notifications.kinds import letter_kind_named
from notifications.models import Letter

logger = logging.getLogger(__name__)


def letter_issue(*, complaint, kind: str, at: datetime) -> Letter:
    """Record a letter on the case, inside the caller's transaction; its PDF is stored after the commit."""
    letter_kind_named(kind)  # an unregistered kind is a programming error: refuse it before anything is saved
    letter = Letter.objects.create(complaint=complaint, kind=kind, created_at=at)
    transaction.on_commit(partial(_write_after_commit, letter.pk))
    return letter


def letter_file(letter: Letter) -> Letter:
    """The letter with its PDF in storage (made now if it was not made after the commit)."""
    if not letter.file:
        letter_write(letter)
    return letter


def letter_write(letter: Letter) -> None:
    """Render the letter and store its PDF, unless another process stored one first (then that one stays)."""
    pdf = letter_kind_named(letter.kind).render(letter)
    name = letter.file.storage.save(
        f"letters/{letter.complaint.public_id}-{letter.kind}.pdf", ContentFile(pdf), max_length=255
    )
    if Letter.objects.filter(pk=letter.pk, file="").update(file=name):
        letter.file.name = name
        return
    letter.file.storage.delete(name)  # a concurrent write won: keep its file, not a second copy
    letter.refresh_from_db(fields=["file"])


def _write_after_commit(letter_id: int) -> None:
    """The PDF of a letter just committed (never raises: ``letter_file`` makes it later if this fails)."""
    letter = Letter.objects.select_related("complaint").filter(pk=letter_id).first()
    if letter is None or letter.file:
        return
    try:
        letter_write(letter)
    except Exception as error:  # noqa: BLE001 - storage down: the row waits, the next reader makes the PDF
        logger.warning("Letter %s not stored after commit (%s); it will be made when needed", letter_id, error)
