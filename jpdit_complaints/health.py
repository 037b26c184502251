"""Liveness and the probes of readiness.

``healthz`` says the process answers: no database, no session. It is docker-compose.yml's health check
of web (a web process is worth keeping while a service it uses is away: the outbox and the stored
emails wait for it). It is also the yardstick of the benchmarks in bench/: the cheapest page the site
can serve.

``readiness_checks`` are django-health-check probes of every service the product needs: the database,
the cache, the Celery broker, the private files' storage and the mail relay, each with a short
timeout. ``procedure.views.readyz`` runs them and adds the outbox's backlog and the deadline sweep's
last run.
"""

from __future__ import annotations

import dataclasses
import smtplib
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Mail, Storage
from health_check.exceptions import ServiceUnavailable

from jpdit_complaints.celery import app as celery_app

# Each probe gives up after this long: a readiness answer must come back within a few seconds.
PROBE_TIMEOUT = timedelta(seconds=3)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (no worker needed: queued work waits there for one)."""

    timeout: timedelta = dataclasses.field(default=PROBE_TIMEOUT, repr=False)

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        options = {"socket_connect_timeout": seconds, "socket_timeout": seconds, "max_retries": 0}
        try:
            with celery_app.connection_for_write(connect_timeout=seconds, transport_options=options) as connection:
                connection.connect()
        except Exception as error:  # whatever the transport raises, the broker is unreachable
            raise ServiceUnavailable(f"broker unreachable ({type(error).__name__})") from error


@dataclasses.dataclass
class MailRelay(Mail):
    """The mail relay accepts an SMTP connection (django-health-check's ``Mail``, every network error caught)."""

    timeout: timedelta = dataclasses.field(default=PROBE_TIMEOUT, repr=False)

    def run(self) -> None:
        try:
            super().run()
        except (OSError, smtplib.SMTPException) as error:  # a timeout or an unknown host, not only a refusal
            raise ServiceUnavailable(f"mail relay unreachable ({type(error).__name__})") from error


def readiness_checks() -> dict[str, HealthCheck]:
    """Every service the product needs, by the name the readiness answer gives it."""
    return {
        "database": Database(),
        "cache": Cache(timeout=PROBE_TIMEOUT),
        "broker": Broker(),
        # Where attachments, letters and raw emails are kept: a file is written, read back and deleted.
        "storage": Storage(alias="private"),
        "mail_relay": MailRelay(),
    }
