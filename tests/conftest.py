"""Shared fixtures.

Services that a laptop may not have (PostgreSQL, Redis, Chromium, Dovecot) are used only
by tests marked ``postgres``, ``redis``, ``worker``, ``browser`` or ``imap``. Without the
service such a test is skipped with the reason printed at the end of the run;
with ``JPDIT_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service fails
the test instead.
"""

from __future__ import annotations

import sys

import pytest
from django.db import connection

from tests import services

_missing = services.missing  # conditional: skip locally, fail in CI


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/jpdit")
    if (item.get_closest_marker("redis") or item.get_closest_marker("worker")) and not services.redis_url():
        _missing("needs Redis: run with TEST_REDIS_URL=redis://127.0.0.1:6379/15")
    if item.get_closest_marker("browser") and not services.chromium_path():
        _missing("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    if item.get_closest_marker("imap") and not services.dovecot_path():
        _missing("needs Debian's Dovecot at /usr/sbin/dovecot (apt-get install dovecot-imapd)")


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Closure days are cached per process: start every test from the database."""
    from cases import business_days

    business_days.invalidate()
    yield
    business_days.invalidate()


@pytest.fixture(autouse=True)
def _no_staged_uploads():
    """Every test starts and ends with no upload staged between form posts.

    Deleted outright, not through ``purge_stale_staging``: that compares the files' modification
    times, which the filesystem stamps with the real clock, with the product's (travelled) clock.
    """
    from cases import uploads

    clear_staging(uploads.staging_storage(), uploads.STAGING_DIR)
    yield
    clear_staging(uploads.staging_storage(), uploads.STAGING_DIR)


def clear_staging(storage, folder: str) -> None:
    if not storage.exists(folder):
        return
    folders, names = storage.listdir(folder)
    for name in names:
        storage.delete(f"{folder}/{name}")
    for child in folders:
        clear_staging(storage, f"{folder}/{child}")


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def appeal_factory():
    """Make an appeal row directly (its complaint under appeal), for tests of what comes after."""
    from appeals.models import Appeal
    from tests.factories import AcknowledgedComplaintFactory

    def make(**fields) -> Appeal:
        complaint = AcknowledgedComplaintFactory(status="under_appeal")
        values = {
            "reasons": "I disagree.",
            "received_at": complaint.received_at,
            "acknowledgement_due": complaint.acknowledgement_due,
        }
        values.update(fields)
        return Appeal.objects.create(complaint=complaint, **values)

    return make


# --- The product's real processes (tests/stack.py): journeys, load and faults ---------------------


@pytest.fixture
def mail_server():
    """An SMTP server in this process that keeps what it receives (tests.stack.MailServer)."""
    from tests.stack import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A private redis-server on a free port that the test may stop and start (tests.stack.RedisServer)."""
    from tests.stack import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """moto's standalone S3-compatible server (tests.stack.MotoServer), one per test module; a bucket per test."""
    from tests.stack import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.shutdown()


@pytest.fixture
def imap_server():
    """A private Dovecot IMAP server (tests.imap.Dovecot), started; mailboxes complaints and appeals."""
    from tests.imap import Dovecot

    server = Dovecot().start()
    yield server
    server.remove()


@pytest.fixture
def stack(transactional_db, tmp_path, redis_server, mail_server):
    """gunicorn + Celery worker + beat as docker-compose.yml runs them, on the test database.

    Not started: the test may change ``stack.extra_env`` first, then calls ``stack.prepare().start()``.
    The processes' logs are printed when the test ends (pytest shows them if it failed).
    """
    from django.conf import settings

    from tests.stack import Stack, database_url_of

    if connection.vendor != "postgresql":
        _missing("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/jpdit")
    running = Stack(
        folder=tmp_path / "stack",
        database_url=database_url_of(connection),
        redis=redis_server,
        mail=mail_server,
        private_root=settings.PRIVATE_MEDIA_ROOT,
    )
    yield running
    running.stop()
    sys.stdout.write(running.logs())
