"""Flood control of the public form: per-address hourly allowance kept in the cache."""

from __future__ import annotations

import ipaddress
import secrets
import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone

from cases import ratelimit
from jpdit_complaints.network import client_ip
from tests.test_cache import closed_port


def request(remote="203.0.113.7", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/", **extra)


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = True
    settings.INTAKE_RATE_LIMIT_PER_HOUR = 3
    settings.TRUSTED_PROXY_COUNT = 0


def test_without_proxies_the_connection_address_is_used_and_forwarded_for_ignored():
    assert client_ip(request(forwarded="198.51.100.9")) == "203.0.113.7"


def test_behind_one_proxy_the_rightmost_forwarded_entry_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    # The leftmost entry was written by the client and could say anything.
    assert client_ip(request(remote="10.0.0.2", forwarded="1.2.3.4, 198.51.100.9")) == "198.51.100.9"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    ip = client_ip(request(remote="10.0.0.3", forwarded="1.2.3.4, 198.51.100.9, 10.0.0.2"))

    assert ip == "198.51.100.9"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", None])
def test_missing_or_bad_forwarded_for_falls_back_to_the_connection(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request(remote="10.0.0.2", forwarded=forwarded)) == "10.0.0.2"


def test_allowance_is_used_up_then_refused_until_the_hour_ends():
    decisions = [ratelimit.intake_attempt(request()) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    refused = decisions[-1]
    assert timezone.now() < refused.retry_at <= timezone.now() + timedelta(hours=1)
    assert 1 <= refused.retry_in_minutes <= 60


def test_each_address_has_its_own_allowance():
    for _ in range(3):
        ratelimit.intake_attempt(request("203.0.113.7"))

    assert ratelimit.intake_attempt(request("203.0.113.8")).allowed
    assert not ratelimit.intake_attempt(request("203.0.113.7")).allowed


def test_switched_off_nothing_is_refused_or_counted(settings):
    settings.INTAKE_RATE_LIMIT_ENABLED = False

    assert all(ratelimit.intake_attempt(request()).allowed for _ in range(10))
    assert not cache._cache  # locmem: nothing stored


def test_cache_never_holds_the_address():
    ratelimit.intake_attempt(request("203.0.113.7"))

    assert not any("203.0.113.7" in key for key in cache._cache)


def test_simultaneous_requests_cannot_exceed_the_allowance():
    results = []
    barrier = threading.Barrier(12)

    def attempt():
        barrier.wait()
        results.append(ratelimit.intake_attempt(request()).allowed)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 3


@pytest.mark.redis
def test_allowance_holds_with_the_redis_cache_used_in_production(settings):
    from django.core.cache import caches

    from tests.services import redis_url

    settings.CACHES = {
        "default": {
            "BACKEND": "jpdit_complaints.cache.ResilientRedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": "jpdit-test-ratelimit",
        }
    }
    assert type(caches["default"]).__name__ == "ResilientRedisCache"
    # A fresh address per run, and no clear(): FLUSHDB would disturb other tests sharing the Redis database.
    address = str(ipaddress.IPv6Address(secrets.randbits(128)))
    results = []
    barrier = threading.Barrier(10)

    def attempt():
        barrier.wait()
        results.append(ratelimit.intake_attempt(request(address)).allowed)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 3


def test_when_redis_is_down_complaints_are_let_in_and_the_outage_is_logged(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "jpdit_complaints.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    decisions = [ratelimit.intake_attempt(request()).allowed for _ in range(5)]

    assert decisions == [True] * 5  # over the allowance of 3, but nobody can count: our outage, not the client's
    assert "Intake rate limit not applied" in caplog.text
