"""The development server of `make run` (Django's runserver, Procfile.dev) logs each request without the
key to a client's case: ``GET /track/[token]/``, as gunicorn's access log writes it in production."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.stack import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "WyI0NWZjMTE1OTkxODA0ZTMyYWU5ZDBhODE3MTU2M2RmMiIsMV0:1xVyIx:UUoiqSauB1MxEf_wlerziT29B7V8OSiABWhZsqjqStg"


def _get(url: str) -> None:
    # A forged link's page may answer an error: what matters here is the log line.
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=5).close()  # noqa: S310 - our own server on the loopback


def test_the_development_servers_request_log_masks_a_client_links_token(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jpdit_complaints.settings.test",
        # runserver looks at the migrations when it starts: an empty database of its own does.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "runserver.log").open("w+")
    # As Procfile.dev starts it (without the autoreloader, which would start a second process).
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert server.poll() is None, "runserver stopped"
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.2)
        _get(f"http://127.0.0.1:{port}/track/{TOKEN}/")
        _get(f"http://127.0.0.1:{port}/complaint/received/{TOKEN}/")
        # The server writes a request's line after its response: wait for the last one.
        while "/complaint/received/" not in (tmp_path / "runserver.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    log.seek(0)
    written = log.read()

    assert '"GET /track/[token]/ HTTP/1.1"' in written
    assert '"GET /complaint/received/[token]/ HTTP/1.1"' in written
    assert TOKEN not in written
