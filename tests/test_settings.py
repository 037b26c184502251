"""Settings come from the environment: embedded defaults for a laptop, loud failures in production.

Each case runs in a fresh interpreter, because settings are read once per process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_compose import variables_the_settings_read

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = secrets.token_urlsafe(50)

SETTINGS_PROBE = """
import json
from jpdit_complaints.environment import use_default_settings
use_default_settings()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "module": settings.SETTINGS_MODULE,
    "debug": settings.DEBUG,
    "engine": db["ENGINE"], "db_name": str(db["NAME"]), "db_host": db.get("HOST"), "db_port": db.get("PORT"),
    "broker": settings.CELERY_BROKER_URL, "broker_options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "email_backend": settings.EMAIL_BACKEND, "email_file_path": settings.EMAIL_FILE_PATH,
    "email_host": settings.EMAIL_HOST, "email_port": settings.EMAIL_PORT, "email_tls": settings.EMAIL_USE_TLS,
    "email_user": settings.EMAIL_HOST_USER,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "inbound_mailboxes": settings.INBOUND_MAILBOXES,
    "beat_tasks": sorted(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()),
}))
"""


def run(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # Start from a shell that sets none of the variables the settings read (the CI sets some).
    names = variables_the_settings_read() | {"DJANGO_SETTINGS_MODULE"}
    clean = {name: value for name, value in os.environ.items() if name not in names}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load(environment: dict[str, str]) -> dict:
    result = run(environment, "-c", SETTINGS_PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def production(**extra: str) -> dict[str, str]:
    return {"DJANGO_ENV": "production", "ALLOWED_HOSTS": "complaints.example.com", **extra}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "SECRET_KEY"),
        ("django-insecure-" + secrets.token_urlsafe(50), "not a 'django-insecure' development key"),
        ("too-short-" + secrets.token_hex(8), "at least 50 characters"),
        ("a" * 60, "random"),
    ],
    ids=["missing", "django-insecure", "short", "not-random"],
)
def test_production_refuses_to_start_without_a_real_secret_key(key, message):
    environment = production() if key is None else production(SECRET_KEY=key)

    result = run(environment, "manage.py", "check")

    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_with_a_real_secret_key():
    result = run(production(SECRET_KEY=GOOD_KEY), "manage.py", "check")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_needs_allowed_hosts():
    result = run({"DJANGO_ENV": "production", "SECRET_KEY": GOOD_KEY}, "manage.py", "check")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_unknown_django_env_fails_loudly():
    result = run({"DJANGO_ENV": "staging"}, "manage.py", "check")

    assert result.returncode != 0
    assert "DJANGO_ENV='staging' is not one of: local, test, production" in result.stderr


def test_defaults_are_the_embedded_services_of_make_run():
    loaded = load({})

    assert loaded["module"] == "jpdit_complaints.settings.local"
    assert loaded["debug"] is True
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["db_name"] == str(ROOT / "var" / "db.sqlite3")
    assert loaded["broker"] == "filesystem://"
    assert loaded["broker_options"]["data_folder_in"] == str(ROOT / "var" / "broker" / "queue")
    assert loaded["broker_options"]["processed_folder"] == str(ROOT / "var" / "broker" / "processed")
    assert loaded["email_backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["email_file_path"] == str(ROOT / "var" / "mail")
    # Email in: a Maildir per mailbox, where a developer drops .eml files (README, `make run`).
    assert loaded["inbound_mailboxes"] == {
        "complaints": f"maildir://{ROOT / 'var' / 'inbound' / 'complaints'}",
        "appeals": f"maildir://{ROOT / 'var' / 'inbound' / 'appeals'}",
    }
    assert "inbound.tasks.process_stored_emails" in loaded["beat_tasks"]


def test_production_reads_no_mailbox_unless_its_url_is_set():
    assert load(production(SECRET_KEY=GOOD_KEY))["inbound_mailboxes"] == {"complaints": "", "appeals": ""}

    url = "imaps://complaints%40jpditservices.com:pw@mail.example.com/INBOX"
    loaded = load(production(SECRET_KEY=GOOD_KEY, INBOUND_COMPLAINTS_URL=url))
    assert loaded["inbound_mailboxes"] == {"complaints": url, "appeals": ""}


def test_service_urls_from_the_environment_are_parsed():
    loaded = load(
        production(
            SECRET_KEY=GOOD_KEY,
            DATABASE_URL="postgres://jpdit:s3cret@db.internal:5433/complaints",
            CELERY_BROKER_URL="redis://cache.internal:6380/2",
            EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
        )
    )

    assert loaded["module"] == "jpdit_complaints.settings.production"
    assert loaded["debug"] is False
    assert (loaded["engine"], loaded["db_name"]) == ("django.db.backends.postgresql", "complaints")
    assert (loaded["db_host"], loaded["db_port"]) == ("db.internal", 5433)
    assert loaded["broker"] == "redis://cache.internal:6380/2"
    # A broker that hangs must not hold up a client's request (the outbox sweep covers it).
    assert loaded["broker_options"]["socket_connect_timeout"] <= 1
    assert loaded["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (loaded["email_host"], loaded["email_port"], loaded["email_tls"]) == ("smtp.example.com", 587, True)
    assert loaded["email_user"] == "mailer"
    assert loaded["allowed_hosts"] == ["complaints.example.com"]


def test_a_malformed_number_in_the_environment_fails_loudly():
    result = run({"INTAKE_RATE_LIMIT_PER_HOUR": "lots"}, "-c", SETTINGS_PROBE)

    assert result.returncode != 0
    assert "lots" in result.stderr


STORAGE_PROBE = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jpdit_complaints.settings.production")
import django
django.setup()
from jpdit_complaints.storage import private_storage
storage = private_storage()
try:
    storage.url("letters/x.pdf")
    url = "made"
except NotImplementedError:
    url = "refused"
print(json.dumps({"class": type(storage).__name__, "bucket": getattr(storage, "bucket_name", None),
                  "endpoint": getattr(storage, "endpoint_url", None), "acl": getattr(storage, "default_acl", "-"),
                  "overwrite": getattr(storage, "file_overwrite", None), "url": url}))
"""


def test_private_files_are_on_the_filesystem_unless_s3_is_chosen():
    result = run(production(SECRET_KEY=GOOD_KEY), "-c", STORAGE_PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["class"] == "FileSystemStorage"


def test_s3_storage_is_chosen_by_the_environment_and_never_makes_a_url():
    s3 = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "jpdit-private",
        "AWS_S3_ENDPOINT_URL": "https://s3.example",
    }
    result = run(production(SECRET_KEY=GOOD_KEY, **s3), "-c", STORAGE_PROBE)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "class": "PrivateS3Storage",
        "bucket": "jpdit-private",
        "endpoint": "https://s3.example",
        "acl": None,  # objects keep the bucket's private permissions
        "overwrite": False,
        "url": "refused",  # no presigned (or public) URL is ever handed out
    }


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"STORAGE_BACKEND": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
        ({"STORAGE_BACKEND": "ftp"}, "not one of: filesystem, s3"),
    ],
    ids=["s3-without-bucket", "unknown-backend"],
)
def test_a_storage_backend_without_what_it_needs_stops_start_up(environment, message):
    result = run(production(SECRET_KEY=GOOD_KEY, **environment), "manage.py", "check")

    assert result.returncode != 0
    assert message in result.stderr
