"""How many staff sign-ins a second this machine takes (issue 21, point 5), and whether Argon2 would serve better.

Usage:
    .venv/bin/python bench/sign_in.py [--seconds 10]

A sign-in costs one password check, on purpose: the hash is slow so that a stolen database does not give
the passwords away. This measures Django's own hashers at Django's default cost:

- PBKDF2-SHA256 (Django 5.2's default, and the product's until these figures: 1,000,000 iterations);
- Argon2id (Django's recommended hasher, the product's first since: time cost 2, 100 MiB of memory,
  parallelism 8; argon2-cffi, a dependency).

For each: the time of one check on one core, and checks a second with as many processes checking at once as the
machine has cores (what a burst of sign-ins can get at most), with the CPU seconds and the peak memory per check.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import django
from django.conf import settings

PASSWORD = "a staff member's long passphrase"  # noqa: S105 (a throwaway password)
HASHERS = {
    "PBKDF2-SHA256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "Argon2id": "django.contrib.auth.hashers.Argon2PasswordHasher",
}


def _setup() -> None:
    if not settings.configured:
        settings.configure(PASSWORD_HASHERS=list(HASHERS.values()))
        django.setup()


def _hasher(name: str):
    from django.utils.module_loading import import_string

    return import_string(HASHERS[name])()


def _checks_for(name: str, encoded: str, seconds: float) -> int:
    """Check the password again and again for ``seconds``; how many checks were done."""
    _setup()
    hasher, done, end = _hasher(name), 0, time.monotonic() + seconds
    while time.monotonic() < end:
        assert hasher.verify(PASSWORD, encoded)
        done += 1
    return done


def measure(name: str, seconds: float) -> str:
    hasher = _hasher(name)
    try:
        encoded = hasher.encode(PASSWORD, hasher.salt())
    except (ValueError, ImportError) as error:  # argon2-cffi missing
        return f"{name}: not measured ({error})"
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    checks = 0
    while checks < 5:
        hasher.verify(PASSWORD, encoded)
        checks += 1
    one = (time.perf_counter() - started) / checks
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / checks
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        done = sum(pool.map(_checks_for, [name] * cores, [encoded] * cores, [seconds] * cores))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"{name}: one check {one * 1000:.0f} ms ({cpu * 1000:.0f} ms of CPU); {cores} processes at once: "
        f"{done / seconds:.1f} checks a second; this process's peak memory {peak:.0f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    _setup()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
    for name in HASHERS:
        print(measure(name, args.seconds), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
