"""Fixtures for the outbox tests."""

from __future__ import annotations

import pytest

from cases import services


@pytest.fixture
def details():
    return services.ComplaintDetails(
        name="Ada Lovelace",
        email="ada@example.com",
        description="The engineer arrived two days late and the firewall is still misconfigured.",
        desired_outcome="Fix the firewall and refund the call-out fee.",
    )


@pytest.fixture
def broker_url(monkeypatch):
    """Point the Celery app at another broker for one test (Celery reads CELERY_BROKER_URL first)."""

    def point(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)

    return point
