"""A real Celery worker process, not eager mode, sends the acknowledgement through Redis.

The worker runs the test settings against the same PostgreSQL test database as
this process (a committed transaction, so it can see the complaint), consumes
this run's own queue on Redis, and writes emails to files in a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from cases import services as case_services
from cases.models import Complaint
from notifications.models import OutboundMessage
from tests import services as test_services
from tests.stack import database_url_of

WAIT_SECONDS = 30


def celery_command() -> list[str]:
    script = Path(sys.executable).with_name("celery")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "celery"]
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    return [
        *base,
        "-A",
        "jpdit_complaints",
        "worker",
        "--pool=solo",
        f"--queues={queue}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]


@pytest.fixture
def worker_env() -> dict[str, str]:
    """Settings for the worker process beyond the test settings (a test may add to them)."""
    return {}


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path, monkeypatch, worker_env):
    """Start `celery -A jpdit_complaints worker`; yield the folder it writes emails to; stop it."""
    redis_url = test_services.redis_url()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "jpdit_complaints.settings.test",
        "DATABASE_URL": database_url_of(connection),
        "CELERY_BROKER_URL": redis_url,
        "TEST_CELERY_BROKER_URL": redis_url,
        "TEST_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEST_EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
        **worker_env,
    }
    # This process publishes to the same Redis (Celery reads CELERY_BROKER_URL first).
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            celery_command(),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield mail_dir, log_path
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def wait_until_sent(message: OutboundMessage, mail_dir: Path, log_path: Path) -> list[Path]:
    """Wait for the worker to send ``message``; the email files naming its complaint's reference."""
    reference = message.complaint.reference
    deadline = time.monotonic() + WAIT_SECONDS
    sent_files: list[Path] = []
    while time.monotonic() < deadline:
        message.refresh_from_db()
        sent_files = [path for path in mail_dir.iterdir() if reference in path.read_text(errors="replace")]
        if message.state == OutboundMessage.State.SENT and sent_files:
            break
        time.sleep(0.2)
    else:
        pytest.fail(
            f"no acknowledgement within {WAIT_SECONDS} s (row {message.state}, "
            f"attempts {message.attempts}, error {message.last_error!r}); worker log:\n"
            + log_path.read_text(errors="replace")[-4000:]
        )
    return sent_files


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
def test_a_real_worker_sends_the_acknowledgement_through_redis(celery_worker_process, details):
    mail_dir, log_path = celery_worker_process

    complaint = case_services.complaint_submit(details=details)  # commits: this test is transactional
    message = OutboundMessage.objects.get(complaint=complaint)
    sent_files = wait_until_sent(message, mail_dir, log_path)

    assert len(sent_files) == 1
    email = sent_files[0].read_text(errors="replace")
    assert f"Subject: Your complaint {complaint.reference} has been received" in email
    assert "To: ada@example.com" in email
    assert message.attempts == 1
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.ACKNOWLEDGED
    assert complaint.outcome_due is not None
