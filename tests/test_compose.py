"""docker-compose.yml describes the real production shape, and agrees with the settings.

No Docker engine runs here, so the file is parsed and checked: its services, the
single beat, the commands, that every variable it sets is one the settings read,
and that the production settings loaded with its environment pick PostgreSQL, a
Redis broker and SMTP.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat", "migrate", "mailreader")
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL")

# env("NAME", env.bool("NAME", env.list("NAME", env.db("NAME", ... and os.environ.get("NAME") in the module
# that picks the settings (DJANGO_ENV).
_ENV_READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")
_OS_ENV_READ = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict:
    return compose()["services"]


def command_of(service: str) -> list[str]:
    command = services()[service].get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service: str) -> dict[str, str]:
    environment = services()[service].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: str(value) for name, value in environment.items()}


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, with ``given`` as the shell environment."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if name in given:
            return given[name]
        if operator == "?":
            raise KeyError(f"{name} must be given ({argument})")
        return argument or ""

    return _INTERPOLATION.sub(replace, value)


@cache
def variables_the_settings_read() -> frozenset[str]:
    names = set()
    for path in [*(ROOT / "jpdit_complaints" / "settings").glob("*.py"), ROOT / "jpdit_complaints" / "environment.py"]:
        text = path.read_text()
        names.update(_ENV_READ.findall(text))
        names.update(_OS_ENV_READ.findall(text))
    return frozenset(names)


def test_compose_has_the_production_services():
    assert set(services()) == {"db", "redis", "migrate", "proxy", "web", "worker", "beat", "mailreader", "mailpit"}
    assert services()["db"]["image"].startswith("postgres:16")
    assert services()["redis"]["image"].startswith("redis:7")
    assert services()["mailpit"]["image"].startswith("axllent/mailpit")


def test_database_keeps_its_data_in_a_volume_and_reports_health():
    db = services()["db"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "redis-cli" in services()["redis"]["healthcheck"]["test"]


def test_exactly_one_beat_runs():
    beats = [name for name in services() if "beat" in command_of(name) and command_of(name)[:1] == ["celery"]]
    assert beats == ["beat"]
    assert services()["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_web_runs_gunicorn_on_the_project_wsgi_module_in_production_mode():
    command = command_of("web")
    assert command[:2] == ["gunicorn", "jpdit_complaints.wsgi"]
    assert "0.0.0.0:8000" in command
    assert environment_of("web")["DJANGO_ENV"] == "production"


@pytest.mark.parametrize(("service", "role"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_run_the_project_app(service, role):
    command = command_of(service)
    assert command[:3] == ["celery", "-A", "jpdit_complaints"]
    assert command[3] == role


def test_exactly_one_mail_reader_runs_with_the_mailbox_urls_from_outside():
    readers = [name for name in services() if command_of(name)[-1:] == ["read_mail"]]
    assert readers == ["mailreader"]
    assert command_of("mailreader") == ["python", "manage.py", "read_mail"]
    assert services()["mailreader"]["deploy"]["replicas"] == 1
    environment = environment_of("mailreader")
    assert environment["DJANGO_ENV"] == "production"
    # From the .env file or the shell, never written here (they hold the mailboxes' passwords); unset, read nothing.
    assert environment["INBOUND_COMPLAINTS_URL"] == "${INBOUND_COMPLAINTS_URL:-}"
    assert environment["INBOUND_APPEALS_URL"] == "${INBOUND_APPEALS_URL:-}"
    # It writes each raw message where the worker reads it.
    assert f"private:{environment['PRIVATE_MEDIA_ROOT']}" in services()["mailreader"]["volumes"]


NGINX_CONF = ROOT / "deploy" / "nginx.conf"
_NGINX_DIRECTIVE = re.compile(r"^\s*([a-z_]+)\s+([^;{]*?)\s*[;{]", re.M)


def nginx_directives(name: str) -> list[str]:
    """The arguments of every ``name`` directive in deploy/nginx.conf, comments left out."""
    text = "\n".join(line.split("#", 1)[0] for line in NGINX_CONF.read_text().splitlines())
    # ``server {`` opens a block; ``server web:8000;`` (in the upstream) names an address.
    return [arguments for directive, arguments in _NGINX_DIRECTIVE.findall(text) if directive == name and arguments]


def trusted_proxy_count() -> int:
    """TRUSTED_PROXY_COUNT as compose gives it to the app when the .env file does not set it."""
    return int(interpolate(environment_of("web")["TRUSTED_PROXY_COUNT"], {"SECRET_KEY": "x"}))


def published_ports(service: str) -> list[str]:
    return [str(port) for port in services()[service].get("ports", [])]


def proxies_to_web() -> list[str]:
    """The services that mount deploy/nginx.conf: the reverse proxies in front of web."""
    return [
        name
        for name, service in services().items()
        if any(str(volume).startswith("./deploy/nginx.conf:") for volume in service.get("volumes", []))
    ]


def test_whenever_a_proxy_is_trusted_the_web_port_is_not_published():
    """Published, gunicorn would take a client's own X-Forwarded-For as the proxy's: lockouts and rate
    limits would count whatever address the client wrote."""
    assert trusted_proxy_count() > 0
    for name in APP_SERVICES:
        assert published_ports(name) == [], f"{name} is reachable without the proxy"
    gunicorn_port = command_of("web")[command_of("web").index("--bind") + 1].rsplit(":", 1)[1]
    assert [str(port) for port in services()["web"]["expose"]] == [gunicorn_port]


def test_the_trusted_proxy_count_is_the_number_of_proxies_in_front_of_web():
    assert proxies_to_web() == ["proxy"]
    assert trusted_proxy_count() == len(proxies_to_web())
    for name in APP_SERVICES:
        assert environment_of(name)["TRUSTED_PROXY_COUNT"] == environment_of("web")["TRUSTED_PROXY_COUNT"]


def test_the_proxy_is_a_pinned_nginx_publishing_http_and_https():
    proxy = services()["proxy"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+(-alpine)?", proxy["image"]), "pin the official image by version"
    assert sorted(published_ports("proxy")) == ["443:443", "80:80"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    mounts = dict(interpolate(str(volume), {}).split(":")[:2] for volume in proxy["volumes"])
    # The certificate and certbot's challenge folder, from outside the repository (never committed).
    assert mounts["./deploy/certs"] == "/etc/nginx/certs"
    assert mounts["./deploy/acme"] == "/var/www/acme"
    assert {"deploy/certs/", "deploy/acme/"} <= set((ROOT / ".gitignore").read_text().split())
    assert "web" in proxy["depends_on"]  # a list, or a mapping once web has a health check


def test_the_proxy_config_forwards_to_web_and_writes_the_forwarded_headers_itself():
    gunicorn_bind = command_of("web")[command_of("web").index("--bind") + 1]
    assert nginx_directives("server") == [f"web:{gunicorn_bind.rsplit(':', 1)[1]}"]
    assert nginx_directives("proxy_pass") == ["http://jpdit_web"]
    headers = dict(arguments.split(None, 1) for arguments in nginx_directives("proxy_set_header"))
    # Replaced with the peer's address, never the client's header with ours appended.
    assert headers["X-Forwarded-For"] == "$remote_addr"
    # Django's SECURE_PROXY_SSL_HEADER reads it (production settings).
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["Host"] == "$host"


def test_the_proxy_terminates_tls_with_the_mounted_certificate_and_sends_http_to_https():
    assert sorted(nginx_directives("listen")) == ["443 ssl", "80", "[::]:443 ssl", "[::]:80"]
    assert nginx_directives("ssl_certificate") == ["/etc/nginx/certs/fullchain.pem"]
    assert nginx_directives("ssl_certificate_key") == ["/etc/nginx/certs/privkey.pem"]
    assert nginx_directives("return") == ["301 https://$host$request_uri"]
    assert environment_of("web")["SECURE_SSL_REDIRECT"] == "${SECURE_SSL_REDIRECT:-true}"
    assert interpolate(environment_of("web")["SITE_URL"], {"SECRET_KEY": "x"}).startswith("https://")


def test_the_proxy_accepts_a_complaint_with_every_attachment_allowed():
    from django.conf import settings

    (size,) = nginx_directives("client_max_body_size")
    assert size.endswith("m")
    assert int(size[:-1]) * 1024 * 1024 > settings.INTAKE_MAX_FILES * settings.INTAKE_MAX_FILE_BYTES


def test_migrations_run_once_before_the_app_starts():
    assert command_of("migrate")[-2:] == ["migrate", "--noinput"]
    assert services()["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat", "mailreader"):
        assert services()[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services()[name]["depends_on"]["db"]["condition"] == "service_healthy"


def test_web_and_worker_share_the_private_files_volume():
    root = environment_of("web")["PRIVATE_MEDIA_ROOT"]
    for name in ("web", "worker"):
        assert f"private:{root}" in services()[name]["volumes"]
        assert environment_of(name)["PRIVATE_MEDIA_ROOT"] == root
    assert "private" in compose()["volumes"]


def test_every_variable_compose_sets_for_the_app_is_read_by_the_settings():
    known = variables_the_settings_read()
    # The scan itself must work, or this test would pass on nothing.
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL", "DJANGO_ENV"} <= known
    for name in APP_SERVICES:
        unknown = set(environment_of(name)) - known
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("service", ["web", "worker", "beat", "mailreader"])
def test_production_essentials_are_set_for_each_app_process(service):
    environment = environment_of(service)
    missing = [name for name in REQUIRED_IN_PRODUCTION if not environment.get(name)]
    assert not missing
    assert "${SECRET_KEY:?" in environment["SECRET_KEY"], "the secret key must come from outside the file"


def test_service_urls_point_at_the_compose_services():
    environment = {name: interpolate(value, {"SECRET_KEY": "x"}) for name, value in environment_of("web").items()}
    assert urlparse(environment["DATABASE_URL"]).hostname == "db"
    assert urlparse(environment["CELERY_BROKER_URL"]).scheme == "redis"
    assert urlparse(environment["CELERY_BROKER_URL"]).hostname == "redis"
    assert urlparse(environment["CACHE_URL"]).hostname == "redis"
    assert urlparse(environment["EMAIL_URL"]).hostname == "mailpit"
    assert urlparse(environment["EMAIL_URL"]).port == 1025


def test_compose_refuses_to_start_without_a_secret_key():
    with pytest.raises(KeyError, match="SECRET_KEY"):
        interpolate(environment_of("web")["SECRET_KEY"], {})


PROBE = """
import json, django
from jpdit_complaints.celery import app  # picks the settings module from DJANGO_ENV
from django.conf import settings
django.setup()
print(json.dumps({
    "module": settings.SETTINGS_MODULE,
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_host": settings.DATABASES["default"]["HOST"],
    "db_health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "broker": app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
    "email_backend": settings.EMAIL_BACKEND,
    "email_host": settings.EMAIL_HOST,
    "email_port": settings.EMAIL_PORT,
    "private_root": str(settings.PRIVATE_MEDIA_ROOT),
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def test_production_settings_loaded_with_the_compose_environment_use_the_real_services():
    shell = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "complaints.example.com"}
    environment = {name: interpolate(value, shell) for name, value in environment_of("web").items()}
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "DATABASE_"))}

    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["module"] == "jpdit_complaints.settings.production"
    assert loaded["debug"] is False
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["db_host"] == "db"
    assert loaded["broker"].startswith("redis://redis:6379")
    assert loaded["db_health_checks"] is True
    assert loaded["session_cookie_secure"] is True
    assert loaded["cache"] == "jpdit_complaints.cache.ResilientRedisCache"
    assert loaded["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (loaded["email_host"], loaded["email_port"]) == ("mailpit", 1025)
    assert loaded["private_root"] == "/app/var/private"
    assert loaded["allowed_hosts"] == ["complaints.example.com"]


def test_image_is_slim_python_with_locked_runtime_dependencies_and_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    assert "pip install --require-hashes --no-deps -r requirements/base.txt" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    users = [rest for keyword, *rest in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1][0].strip() not in ("root", "0")


def test_the_web_access_log_never_records_query_strings():
    """A dashboard search (?q=Priya Patel) must not put a client's name in the logs."""
    command = command_of("web")
    log_format = command[command.index("--access-logformat") + 1]
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "%(U)s" in log_format
    for leaky in ("%(r)s", "%(q)s", "%(f)s"):
        assert leaky not in log_format
    assert "--access-logformat" in dockerfile
    assert "%(r)s" not in dockerfile


def test_the_web_access_log_never_records_a_client_links_token():
    """/track/<token>/ opens a client's case: the access log keeps the page, not the key to it."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from jpdit_complaints.gunicorn_logging import MaskedTokenLogger

    command = command_of("web")
    assert command[command.index("--logger-class") + 1] == "jpdit_complaints.gunicorn_logging.MaskedTokenLogger"
    assert "jpdit_complaints.gunicorn_logging.MaskedTokenLogger" in (ROOT / "Dockerfile").read_text()

    token = "WyI0NWZjMTE1OTkxODA0ZTMyYWU5ZDBhODE3MTU2M2RmMiIsMV0:1xVyIx:UUoiqSauB1MxEf_wlerziT29B7V8OSiABWhZsqjqStg"
    logger = MaskedTokenLogger(Config())
    response = SimpleNamespace(status="200 OK", sent=100, headers=[])
    for path, logged in [
        (f"/track/{token}/", "/track/[token]/"),
        (f"/track/{token}/appeal/", "/track/[token]/appeal/"),
        (f"/complaint/received/{token}/", "/complaint/received/[token]/"),
        ("/staff/complaints/JPD-2026-00001-A/", "/staff/complaints/JPD-2026-00001-A/"),
    ]:
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": path + "?q=x", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1"}
        atoms = logger.atoms(response, [], environ, timedelta(milliseconds=5))
        assert atoms["U"] == logged
        assert atoms["r"] == f"GET {logged}?q=x HTTP/1.1"  # %(r)s is never in the format; masked all the same
        assert token not in str(atoms)


def test_no_log_line_holds_a_client_links_token():
    """Django logs the path of a request that failed: the settings' handlers mask the token in it."""
    import logging

    from django.conf import settings

    from jpdit_complaints.log_privacy import MaskTokens

    assert "mask_tokens" in settings.LOGGING["handlers"]["console"]["filters"]
    assert settings.LOGGING["filters"]["mask_tokens"]["()"] == "jpdit_complaints.log_privacy.MaskTokens"
    token = "WyI0NWZjMTE1OTkxODA0ZTMyYWU5ZDBhODE3MTU2M2RmMiIsMV0:1xVyIx:UUoiqSauB1MxEf_wlerziT29B7V8OSiABWhZsqjqStg"
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "%s: %s",
        ("Internal Server Error", f"/track/{token}/appeal/"),
        None,
    )

    assert MaskTokens().filter(record) is True
    assert record.getMessage() == "Internal Server Error: /track/[token]/appeal/"
    assert token not in record.getMessage()


def test_web_health_check_probes_liveness_with_an_allowed_host_as_the_tls_proxy_would():
    """The probe (run here against a stand-in server) asks /staff/healthz/ with the first allowed host."""
    import http.server
    import os
    import subprocess
    import sys
    import threading

    test = services()["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    seen: list[tuple[str, str | None, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers["Host"], self.headers["X-Forwarded-Proto"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    code = test[3].replace("127.0.0.1:8000", f"127.0.0.1:{server.server_port}")
    environment = {**os.environ, "ALLOWED_HOSTS": ".complaints.example.com,localhost"}
    result = subprocess.run([sys.executable, "-c", code], env=environment, timeout=20, check=False)
    server.server_close()
    assert result.returncode == 0
    assert seen == [("/staff/healthz/", "complaints.example.com", "https")]


def test_worker_health_check_pings_this_worker_through_the_broker():
    test = services()["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "celery -A jpdit_complaints inspect ping --destination celery@$${HOSTNAME}" in test[1]


def test_private_files_stay_on_the_volume_unless_the_firms_bucket_is_given():
    """STORAGE_BACKEND=s3 and the bucket's variables come from outside the file, as the settings read them."""
    from jpdit_complaints.settings import base

    environment = environment_of("web")
    assert interpolate(environment["STORAGE_BACKEND"], {"SECRET_KEY": "x"}) == "filesystem"
    assert interpolate(environment["STORAGE_BACKEND"], {"SECRET_KEY": "x", "STORAGE_BACKEND": "s3"}) == "s3"
    for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_REGION_NAME", "AWS_ACCESS_KEY_ID"):
        assert environment[name] == f"${{{name}:-}}", f"{name} must come from the .env file, never this one"
    assert environment["AWS_SECRET_ACCESS_KEY"] == "${AWS_SECRET_ACCESS_KEY:-}"
    for name in ("worker", "beat", "mailreader"):
        assert environment_of(name)["STORAGE_BACKEND"] == environment["STORAGE_BACKEND"]
    assert base.STORAGES["private"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"  # the laptop default
