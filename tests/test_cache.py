"""The production cache (Redis) degrades instead of failing: a Redis outage never takes a page down."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.core.cache import caches

from tests.services import redis_url
from tests.stack import free_port


def closed_port() -> int:
    """A port nothing listens on (a free one: its probe socket is closed again)."""
    return free_port()


@pytest.fixture
def cache_on(settings):
    def use(location: str):
        settings.CACHES = {
            "default": {
                "BACKEND": "jpdit_complaints.cache.ResilientRedisCache",
                "LOCATION": location,
                "KEY_PREFIX": "jpdit-test-cache",
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
            }
        }
        return caches["default"]

    return use


def test_with_redis_down_reads_miss_writes_are_skipped_and_counts_are_unknown(cache_on, caplog):
    cache = cache_on(f"redis://127.0.0.1:{closed_port()}/0")

    assert cache.get("menus") is None
    assert cache.get("menus", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("menus") is False
    assert cache.set("menus", [1, 2]) is None
    assert cache.add("count", 0) is False
    assert cache.incr("count") is None
    assert cache.touch("menus") is False
    assert cache.delete("menus") is False
    assert "Cache unavailable for get (ConnectionError)" in caplog.text


@pytest.mark.django_db
def test_with_redis_down_a_staff_session_still_works_from_the_database(cache_on, client, settings):
    from tests.factories import lead

    cache_on(f"redis://127.0.0.1:{closed_port()}/0")
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    client.force_login(lead())

    response = client.get("/staff/")

    assert response.status_code == 200


@pytest.mark.redis
def test_with_redis_up_it_is_an_ordinary_cache(cache_on):
    cache = cache_on(redis_url())
    cache.set("jpdit-test-cache-key", {"x": 1}, 30)
    assert cache.get("jpdit-test-cache-key") == {"x": 1}
    cache.delete("jpdit-test-cache-count")
    assert cache.add("jpdit-test-cache-count", 0, 30) is True
    assert cache.add("jpdit-test-cache-count", 5, 30) is False  # add never overwrites
    assert cache.incr("jpdit-test-cache-count") == 1
    cache.delete_many(["jpdit-test-cache-key", "jpdit-test-cache-count"])


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers: a Redis that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    server.close()


def test_a_hung_redis_costs_one_short_timeout_then_is_left_alone_for_a_while(
    cache_on, silent_server, monkeypatch, caplog
):
    from jpdit_complaints import cache as resilient

    cache = cache_on(f"redis://127.0.0.1:{silent_server}/0")

    def attempts() -> int:
        return caplog.text.count("Cache unavailable")

    started = time.monotonic()
    assert cache.get("menus") is None
    assert time.monotonic() - started < 1.0  # the socket timeout (0.25 s), not a hang
    assert attempts() == 1
    for _ in range(20):  # the rest of this request and the next ones: answered without trying Redis
        assert cache.incr("count") is None
    assert attempts() == 1
    # Once the pause is over, Redis is tried again (and here times out again).
    monkeypatch.setattr(resilient.time, "monotonic", lambda: started + resilient.RETRY_AFTER + 60)
    assert cache.get("menus") is None
    assert attempts() == 2
