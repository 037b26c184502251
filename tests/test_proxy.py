"""The reverse proxy of docker-compose.yml (deploy/nginx.conf): a client cannot choose its own address.

Sign-in lockouts (django-axes, through ``AXES_CLIENT_IP_CALLABLE``) and the intake's rate limit
(cases/ratelimit.py) count the address ``jpdit_complaints.network.client_ip`` gives. With one proxy
in front (``TRUSTED_PROXY_COUNT=1``) that is the last X-Forwarded-For entry: the one the proxy wrote.

The first tests give client_ip the two headers a proxy can send: the client's own header with the
proxy's entry appended (what most proxies do by default), and the header replaced (what
deploy/nginx.conf does). The last ones start Debian's nginx with the repository's own config (only
its addresses, ports and certificate folder changed) in front of the live test server, and send a
forged X-Forwarded-For over HTTPS: lockouts and the rate limit still count the real peer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from cases import ratelimit
from cases.models import Complaint
from jpdit_complaints.network import client_ip
from tests.cases.test_public_form import form_data
from tests.factories import lead
from tests.services import STAFF_PASSWORD, missing
from tests.stack import free_port, port_open, wait_until

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
FORGED = "203.0.113.66"
REAL_PEER = "198.51.100.9"


def request(remote: str = "10.0.0.2", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/", **extra)


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.INTAKE_RATE_LIMIT_ENABLED = True
    cache.clear()
    yield settings
    cache.clear()


def test_lockouts_and_rate_limits_read_the_address_from_the_same_function():
    assert settings.AXES_CLIENT_IP_CALLABLE == "jpdit_complaints.network.client_ip"


@pytest.mark.parametrize(
    "forwarded",
    [
        pytest.param(f"{FORGED}, {REAL_PEER}", id="proxy-appended-to-the-clients-header"),
        pytest.param(REAL_PEER, id="proxy-replaced-the-header"),
    ],
)
def test_behind_one_proxy_lockouts_and_rate_limits_see_the_address_the_proxy_wrote(one_proxy, forwarded):
    forged_request = request(forwarded=forwarded)

    assert client_ip(forged_request) == REAL_PEER
    assert get_client_ip_address(forged_request) == REAL_PEER


def test_a_client_changing_its_forged_forwarded_for_does_not_get_a_new_allowance(one_proxy):
    one_proxy.INTAKE_RATE_LIMIT_PER_HOUR = 2
    decisions = [ratelimit.intake_attempt(request(forwarded=f"192.0.2.{n}, {REAL_PEER}")) for n in range(3)]

    assert [decision.allowed for decision in decisions] == [True, True, False]


# --- nginx with deploy/nginx.conf in front of the live server ---------------------------------------

NGINX = "/usr/sbin/nginx"


@dataclass
class Proxy:
    https_url: str
    http_url: str
    folder: Path

    @property
    def certificate(self) -> Path:
        return self.folder / "certs" / "fullchain.pem"

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def shipped_config_for_this_machine(*, upstream: str, http_port: int, https_port: int, certs: Path, acme: Path) -> str:
    """deploy/nginx.conf with only where it listens, where web is and where the files are changed.

    Each replaced line must be in the file exactly as often as expected, so everything else (the headers
    above all) is the config compose ships, byte for byte.
    """
    text = NGINX_CONF.read_text()
    for old, new, times in [
        ("server web:8000;", f"server {upstream};", 1),
        ("listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        ("listen [::]:80;", "", 1),  # the test machine may have no IPv6
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;", 1),
        ("listen [::]:443 ssl;", "", 1),
        ("/etc/nginx/certs/", f"{certs}/", 2),
        ("root /var/www/acme;", f"root {acme};", 1),
    ]:
        assert text.count(old) == times, f"deploy/nginx.conf should hold {old!r} {times} time(s)"
        text = text.replace(old, new)
    return text


def main_config(folder: Path) -> str:
    """What the nginx image's own /etc/nginx/nginx.conf gives: the http block that includes our file."""
    user = "user root root;" if os.geteuid() == 0 else ""  # workers write their temporary files in the folder
    return f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
{user}
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/jpdit.conf;
}}
"""


@pytest.fixture(scope="module")
def proxy(live_server, tmp_path_factory):
    if not os.path.exists(NGINX) or shutil.which("openssl") is None:
        missing("nginx is not installed (Debian's nginx-light); the proxy tests need it")
    folder = tmp_path_factory.mktemp("nginx")
    certs, acme = folder / "certs", folder / "acme"
    certs.mkdir()
    acme.mkdir()
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    http_port, https_port = free_port(), free_port()
    upstream = live_server.url.removeprefix("http://")
    (folder / "jpdit.conf").write_text(
        shipped_config_for_this_machine(
            upstream=upstream, http_port=http_port, https_port=https_port, certs=certs, acme=acme
        )
    )
    (folder / "nginx.conf").write_text(main_config(folder))
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    served = Proxy(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", folder)
    try:
        wait_until(
            lambda: port_open(https_port) and port_open(http_port),
            timeout=20,
            what="nginx to listen",
            logs=served.error_log(),
        )
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def https(proxy):
    import requests

    session = requests.Session()
    session.trust_env = False  # no proxy or CA bundle from the environment
    session.verify = str(proxy.certificate)  # the test's own self-signed certificate, checked
    yield session
    session.close()


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


# Real HTTPS requests through nginx to the live server, which writes to the database itself.
through_the_proxy = pytest.mark.django_db(transaction=True)


@through_the_proxy
def test_plain_http_is_sent_to_https_and_https_reaches_the_app(proxy, https):
    plain = https.get(proxy.http_url + "/procedure/?x=1", allow_redirects=False, timeout=10)
    secure = https.get(proxy.https_url + "/", timeout=10)

    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://127.0.0.1/procedure/?x=1"
    assert secure.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in secure.text
    assert "nginx/" not in secure.headers.get("Server", "")  # server_tokens off


@through_the_proxy
def test_a_forged_forwarded_for_through_the_proxy_gets_no_new_intake_allowance(proxy, https, one_proxy):
    one_proxy.INTAKE_RATE_LIMIT_PER_HOUR = 2
    statuses = []
    for n in range(3):
        token = csrf_token(https.get(proxy.https_url + "/", timeout=10).text)
        response = https.post(
            proxy.https_url + "/",
            data={**form_data(description=f"Problem number {n}: the VPN dropped again."), "csrfmiddlewaretoken": token},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
            allow_redirects=False,
            timeout=30,
        )
        statuses.append(response.status_code)

    assert statuses == [303, 303, 429], proxy.error_log()
    assert Complaint.objects.count() == 2


@through_the_proxy
def test_a_forged_forwarded_for_through_the_proxy_does_not_escape_a_sign_in_lockout(proxy, https, one_proxy):
    lead(username="lena")
    login = proxy.https_url + reverse("staff:login")
    assert settings.AXES_FAILURE_LIMIT == 5

    def sign_in(password: str, forged: str):
        token = csrf_token(https.get(login, timeout=10).text)
        return https.post(
            login,
            data={"username": "lena", "password": password, "csrfmiddlewaretoken": token},
            headers={"X-Forwarded-For": forged, "Referer": login},
            allow_redirects=False,
            timeout=10,
        )

    statuses = [sign_in(f"wrong-{n}", f"192.0.2.{n}").status_code for n in range(5)]
    right_password = sign_in(STAFF_PASSWORD, "192.0.2.200")

    assert statuses == [200, 200, 200, 200, 429]
    assert right_password.status_code == 429
    assert "Sign-in temporarily locked" in right_password.text
    # Every attempt was counted against the one address nginx received them from.
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]
