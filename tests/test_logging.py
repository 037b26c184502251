"""Structured logs with a request id carried into Celery tasks, and scrubbed error reports (issue 19, point 8)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from django.test import Client
from kombu import Connection
from sentry_sdk.transport import Transport

from jpdit_complaints import error_reporting, request_id
from notifications.tasks import deliver_message

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "WyI0NWZjMTE1OTkxODA0ZTMyYWU5ZDBhODE3MTU2M2RmMiIsMV0:1xVyIx:UUoiqSauB1MxEf_wlerziT29B7V8OSiABWhZsqjqStg"
CLIENT_EMAIL = "ada.lovelace@example.org"


def test_production_logs_are_one_json_object_per_line_with_level_logger_event_and_request_id_and_no_token():
    """The production settings, loaded as a process of docker-compose.yml would load them."""
    code = (
        "import jpdit_complaints, django, logging; django.setup();"
        "from jpdit_complaints import request_id; request_id.current.set('abcdef0123456789');"
        f"logging.getLogger('cases.services').warning('Opened %s', '/track/{TOKEN}/');"
        "import sentry_sdk; print('reporting errors:', sentry_sdk.get_client().is_active())"
    )
    environment = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 20 + "a-real-looking-secret-key-0123456789",
        "ALLOWED_HOSTS": "complaints.example.com",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("LOG_FORMAT", "DJANGO_SETTINGS_MODULE", "SENTRY_DSN"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    lines = [line for line in result.stderr.splitlines() if '"logger": "cases.services"' in line]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "WARNING"
    assert record["logger"] == "cases.services"
    assert record["event"] == "Opened /track/[token]/"
    assert record["request_id"] == "abcdef0123456789"
    assert "time" in record
    assert TOKEN not in result.stderr
    assert result.stdout.strip() == "reporting errors: False"  # no SENTRY_DSN, no error reporting


# --- the request id ------------------------------------------------------------------------------


def test_every_response_carries_a_request_id(client):
    first = client.get("/staff/healthz/")["X-Request-ID"]
    second = client.get("/staff/healthz/")["X-Request-ID"]
    assert request_id.SAFE_ID.fullmatch(first)
    assert first != second


def test_a_callers_plain_request_id_is_kept(client):
    assert client.get("/staff/healthz/", HTTP_X_REQUEST_ID="lb-4f1c2a9e-01")["X-Request-ID"] == "lb-4f1c2a9e-01"


@pytest.mark.parametrize(
    "forged",
    ["short", "x" * 65, "abc def ghi", "abcdefgh\nFAKE LOG LINE", f"/track/{TOKEN}/", "ada@example.org-12345"],
)
def test_a_request_id_that_is_not_a_plain_id_is_replaced(client, forged):
    answered = client.get("/staff/healthz/", HTTP_X_REQUEST_ID=forged)["X-Request-ID"]
    assert answered != forged
    assert request_id.SAFE_ID.fullmatch(answered)


def test_every_log_record_gets_the_request_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id.current.set("req-0123456789")
    try:
        request_id.RequestIdFilter().filter(record)
    finally:
        request_id.current.reset(token)
    assert record.request_id == "req-0123456789"
    request_id.RequestIdFilter().filter(record)
    assert record.request_id == "-"


def test_a_task_queued_during_a_request_carries_its_id_and_the_worker_takes_it_back():
    token = request_id.current.set("req-0123456789")
    try:
        with Connection("memory://") as connection:
            deliver_message.apply_async(args=[1], connection=connection, queue="request-id-test")
            message = connection.SimpleQueue("request-id-test").get(timeout=2)
    finally:
        request_id.current.reset(token)
    assert message.headers["request_id"] == "req-0123456789"
    message.ack()

    # The worker: the task's request holds the message's headers (Celery's protocol 2).
    deliver_message.push_request(request_id=message.headers["request_id"])
    try:
        request_id._take_from_the_task(task=deliver_message)
        record = logging.LogRecord("notifications.services", logging.INFO, __file__, 1, "Sent", None, None)
        request_id.RequestIdFilter().filter(record)
        assert record.request_id == "req-0123456789"
    finally:
        deliver_message.pop_request()
        request_id._forget_after_the_task()
    assert request_id.current.get() == ""


# --- error reporting ----------------------------------------------------------------------------


class CapturingTransport(Transport):
    """Keeps each envelope the SDK would send, as bytes."""

    sent: list[bytes] = []

    def capture_envelope(self, envelope):
        CapturingTransport.sent.append(envelope.serialize())


@pytest.fixture
def reported():
    CapturingTransport.sent = []
    error_reporting.init("https://public@sentry.example.invalid/1", environment="test", transport=CapturingTransport)
    yield CapturingTransport.sent
    sentry_sdk.init(dsn=None)


@pytest.mark.django_db
@pytest.mark.urls("tests.sentry_urls")
def test_a_raised_error_is_reported_without_the_token_the_clients_email_or_cookies(reported):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "session-secret-value"
    logging.getLogger("cases.views").warning("client %s opened /track/%s/", CLIENT_EMAIL, TOKEN)  # a breadcrumb
    response = client.post(f"/track/{TOKEN}/boom/", {"email": CLIENT_EMAIL, "description": "my private story"})
    assert response.status_code == 500
    sentry_sdk.flush()
    sent = b"".join(reported)
    assert b"ValueError" in sent  # the error was captured...
    assert b"/track/[token]/" in sent
    for secret in (TOKEN, CLIENT_EMAIL, "session-secret-value", "my private story"):  # ...without these
        assert secret.encode() not in sent


def test_gunicorns_own_lines_and_access_log_are_json_with_the_token_masked(tmp_path):
    """gunicorn, started as compose starts it, writes one JSON object per line, its access log included."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.test_compose import command_of

    command = command_of("web")
    assert command[command.index("--config") + 1] == "python:jpdit_complaints.gunicorn_conf"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    arguments = [a for a in command[1:] if a not in ("0.0.0.0:8000",)]
    arguments[arguments.index("--bind") + 1 : arguments.index("--bind") + 1] = [f"127.0.0.1:{port}"]
    arguments[arguments.index("--workers") + 1] = "1"
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "jpdit_complaints.settings.test", "LOG_FORMAT": "json"}
    out = tmp_path / "gunicorn.log"
    with out.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *arguments], stdout=sink, stderr=subprocess.STDOUT, env=environment
        )
        try:
            token = (
                "WyI0NWZjMTE1OTkxODA0ZTMyYWU5ZDBhODE3MTU2M2RmMiIsMV0:1xVyIx:UUoiqSauB1MxEf_wlerziT29B7V8OSiABWhZsqjqStg"
            )
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/track/{token}/", timeout=2)
                except urllib.error.HTTPError:
                    break
                except OSError:
                    time.sleep(0.1)
                    continue
                break
            time.sleep(0.3)
        finally:
            server.terminate()
            server.wait(timeout=10)
    lines = [line for line in out.read_text().splitlines() if line.strip()]
    assert lines, "gunicorn wrote nothing"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "event"} <= set(records[0])
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert access
    assert "/track/[token]/" in access[0]["event"]
    assert token not in out.read_text()
