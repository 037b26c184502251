"""The product as production runs it, started for one test: real processes, real services.

``Stack`` starts the application processes of docker-compose.yml with the commands and the
environment written there (gunicorn, a Celery worker, one beat, ``DJANGO_ENV=production``; and, when
asked, the mail reader, ``manage.py read_mail``), with only the addresses changed to point at:

- ``RedisServer``: a private ``redis-server`` on a free port, which a test may stop and start again
  (the machine's own Redis is never touched);
- ``MailServer``: an SMTP server (aiosmtpd) in this process that keeps every message it accepts, and
  that a test may take down, bring back, or hold in the middle of a conversation;
- a PostgreSQL database: the test database this process uses (so the test reads the results with the
  ORM), or ``PostgresCluster``, a private PostgreSQL server that a test may restart;
- for the mail reader, ``tests.imap.Dovecot``: a private IMAP server (the test gives its URLs as
  ``INBOUND_COMPLAINTS_URL`` and ``INBOUND_APPEALS_URL`` in ``extra_env``).

Used by the browser journeys (tests/test_journey_live.py), the load test (tests/test_load.py) and the
fault tests (tests/test_faults.py, tests/test_mail_faults.py). Each process writes its log to the test's
folder; a failure message carries the end of every log.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from tests import services
from tests.test_compose import command_of, compose, environment_of, interpolate

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], object], *, timeout: float, what: str, every: float = 0.1, logs: str = ""):
    """Poll ``check`` until it returns something truthy; fail with ``what`` (and the logs) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(every)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- Processes ---------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process in its own process group, its output in a log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} log ({self.log_path}) ---\n{self.log()[-chars:]}"

    def children(self) -> list[int]:
        """Direct child processes (a prefork worker's pool processes)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def group_alive(self) -> bool:
        """Whether any process of the group is left (a pool process may outlive its parent briefly)."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole group: nothing gets to clean up."""
        if self.popen is not None and self.group_alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
            wait_until(lambda: not self.group_alive(), timeout=10, what=f"{self.name}'s processes to die")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the leader (a graceful shutdown, as a supervisor does), wait for the whole group;
        SIGKILL what is left after ``timeout``."""
        if self.popen is None or not self.group_alive():
            return
        if self.alive():
            self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
            wait_until(lambda: not self.group_alive(), timeout=timeout, what=f"{self.name}'s processes to end")
        except (subprocess.TimeoutExpired, AssertionError):
            self.kill()


# --- Redis ---------------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server on a free port, keeping nothing on disk."""

    def __init__(self, folder: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            services.missing("needs the redis-server program (Debian's redis-server package)")
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Process("redis", [*command, "--dir", str(folder)], dict(os.environ), folder / "redis.log")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.process.start()
        wait_until(lambda: port_open(self.port), timeout=10, what="redis-server", logs=self.process.tail())
        return self

    def stop(self) -> None:
        self.process.stop()
        wait_until(lambda: not port_open(self.port), timeout=10, what="redis-server to stop")


# --- S3-compatible object storage --------------------------------------------------------------------


class _Forwarder:
    """A TCP port that passes every connection on to another port, and that a test may take down.

    Down, it refuses connections and cuts those open, as an unreachable store does; the server behind
    it keeps running, with what it stored.
    """

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread waiting in accept() (close() alone would leave the port listening).
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                destination.shutdown(socket.SHUT_WR)


class MotoServer:
    """moto's standalone S3-compatible server (``moto_server``, moto[server] from PyPI) on a free port.

    The application is given ``url``, a port in front of it: ``stop()`` makes the store unreachable
    (connections refused) and ``start()`` brings it back with everything it held, because moto keeps its
    objects in the memory of its process (stopping that process would lose them, which no real store does).
    ``client()`` is a boto3 client straight to the server, for the test to look inside buckets.
    """

    REGION = "eu-west-2"
    KEY = "moto-test-key"
    SECRET = "moto-test-secret"  # moto accepts any credentials

    def __init__(self, folder: Path):
        binary = shutil.which("moto_server", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        if binary is None:
            services.missing("needs moto's standalone server (moto[server], requirements/dev.txt)")
        self.server_port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        command = [binary, "-H", "127.0.0.1", "-p", str(self.server_port)]
        self.process = Process("moto", command, dict(os.environ), folder / "moto.log")
        self.front = _Forwarder(self.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front.port}"

    def start(self) -> MotoServer:
        if not self.process.alive():
            self.process.start()
            wait_until(lambda: port_open(self.server_port), timeout=20, what="moto_server", logs=self.process.tail())
        self.front.start()
        return self

    def stop(self) -> None:
        """The store unreachable: connections to ``url`` are refused (the server keeps its objects)."""
        self.front.stop()

    def shutdown(self) -> None:
        self.front.stop()
        self.process.stop()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.server_port}",
            region_name=self.REGION,
            aws_access_key_id=self.KEY,
            aws_secret_access_key=self.SECRET,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.REGION})
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object of ``bucket`` under ``prefix``, by key, with its bytes."""
        client = self.client()
        listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listing}

    def storage_env(self, bucket: str) -> dict[str, str]:
        """The variables that put the application's private files in ``bucket`` (docs: STORAGE_BACKEND=s3)."""
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_REGION_NAME": self.REGION,
            "AWS_ACCESS_KEY_ID": self.KEY,
            "AWS_SECRET_ACCESS_KEY": self.SECRET,
            "AWS_S3_ADDRESSING_STYLE": "path",
            "AWS_S3_CONNECT_TIMEOUT": "1",
            "AWS_S3_READ_TIMEOUT": "5",
        }


# --- SMTP ------------------------------------------------------------------------------------------


class _Handler:
    def __init__(self, server: MailServer):
        self.server = server

    async def handle_DATA(self, smtp_server, session, envelope):
        import asyncio

        server = self.server
        server.conversations += 1
        if not server.accepting.is_set():
            server.held.set()
            # Hold the sender here, mid-conversation, until the test lets go. If the sender dies meanwhile,
            # aiosmtpd cancels this handler: the message is not kept (no reply reached the sender).
            try:
                while not server.accepting.is_set():
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                server.abandoned += 1
                raise
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with server.lock:
            server.messages.append(message)
        return "250 OK"


class MailServer:
    """An SMTP server (aiosmtpd) on a free port that keeps what it accepts in ``messages``.

    ``stop()`` takes it off the network (connections are refused); ``start()`` brings it back on the
    same port. ``hold()`` makes it wait at the end of each message's DATA, without answering, until
    ``release()``; ``held`` is set when a sender is being held.
    """

    def __init__(self):
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.accepting = threading.Event()
        self.accepting.set()
        self.held = threading.Event()
        self.conversations = 0
        self.abandoned = 0
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailServer:
        from aiosmtpd.controller import Controller

        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def hold(self) -> None:
        self.held.clear()
        self.accepting.clear()

    def release(self) -> None:
        self.accepting.set()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def about(self, reference: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if reference in str(m["Subject"])]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def attachments_of(message: EmailMessage) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]


# --- PostgreSQL ------------------------------------------------------------------------------------


def _pg_bin(program: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))
    if found:
        return found[-1]
    path = shutil.which(program)
    if path is None:
        services.missing(f"needs PostgreSQL's {program} program (Debian's postgresql package)")
    return path


class PostgresCluster:
    """A private PostgreSQL server (initdb in a temporary folder, a free port), trust authentication.

    The server refuses to run as root, so as root it runs as the ``postgres`` user.
    """

    def __init__(self):
        # Its own folder under /tmp, not under pytest's: pytest resets its root to mode 0700 whenever a
        # session starts, which would lock the postgres user out of a running server's files.
        self.folder = Path(tempfile.mkdtemp(prefix="jpdit-test-pg-"))
        self.data = self.folder / "pgdata"
        self.port = free_port()
        self.log_path = self.folder / "postgres.log"
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self._as_user, *command], capture_output=True, text=True, cwd="/", check=False)
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}\n{log}")

    def init(self) -> PostgresCluster:
        if self._as_user:
            shutil.chown(self.folder, "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        return self

    def start(self) -> PostgresCluster:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> None:
        """A fast restart: every connection is cut, then the server comes back on the same port."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = _pg_bin("pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log_path), "-m", "fast", "-o", options, "-w", "restart")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def database_url_of(connection) -> str:
    """A DATABASE_URL naming the database a Django connection is using (the test database)."""
    from urllib.parse import quote

    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# --- The application ---------------------------------------------------------------------------------


def _compose_environment(secret_key: str, service: str | None = None, shell: dict[str, str] | None = None):
    """docker-compose.yml's application environment (or one service's), interpolated with the stack's secret
    key and ``shell`` (what an .env file would give: the mail reader's mailbox URLs)."""
    given = {**(shell or {}), "SECRET_KEY": secret_key, "SECURE_SSL_REDIRECT": "false"}
    environment = compose()["x-app-environment"] if service is None else environment_of(service)
    return {name: interpolate(str(value), given) for name, value in environment.items()}


_collected_static: Path | None = None


@dataclass
class Stack:
    """gunicorn, a Celery worker and one beat (and the mail reader), as docker-compose.yml runs them, on this machine.

    ``reader_pauses``: variables for tests/paused_reader.py; when given, the mail reader runs as
    ``python -m tests.paused_reader read_mail`` (the same command, through it), which pauses where they
    say: for good after its first batch is stored and before it is moved, or in the middle of a batch.
    """

    folder: Path
    database_url: str
    redis: RedisServer
    mail: MailServer
    private_root: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    web_workers: int = 2
    # More gunicorn options, after compose's own (the last of an option wins): bench/load_steps.py compares
    # worker classes with them.
    web_options: list[str] = field(default_factory=list)
    worker_concurrency: int = 2
    port: int = field(default_factory=free_port)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    processes: dict[str, Process] = field(default_factory=dict)
    reader_pauses: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def static_root(self) -> Path:
        return self.folder / "static"

    @property
    def env(self) -> dict[str, str]:
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "TEST_", "CELERY_", "PYTEST_")) and key != "DATABASE_URL"
        }
        environment.update(_compose_environment(self.secret_key))
        environment.update(
            {
                "DJANGO_ENV": "production",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SITE_URL": self.url,
                "DATABASE_URL": self.database_url,
                "CELERY_BROKER_URL": self.redis.url(0),
                "CACHE_URL": self.redis.url(1),
                "EMAIL_URL": self.mail.url,
                "PRIVATE_MEDIA_ROOT": str(self.private_root),
                "STATIC_ROOT": str(self.static_root),
                "TRUSTED_PROXY_COUNT": "0",
                # Plain HTTP on loopback: no TLS proxy in front, so no redirect and no Secure cookies.
                "SECURE_SSL_REDIRECT": "false",
                "SECURE_COOKIES": "false",
                "SECURE_HSTS_SECONDS": "0",
                # Password-only staff sign-in for the load and fault tests; the journeys switch the
                # second factor back on (extra_env) and type the authenticator's code, as production requires.
                "STAFF_REQUIRE_2FA": "false",
                "PYTHONUNBUFFERED": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        environment.update(self.extra_env)
        return environment

    def env_of(self, service: str) -> dict[str, str]:
        """The environment of one process: the mail reader gets its service's own variables too."""
        environment = self.env
        if service == "mailreader":
            common = compose()["x-app-environment"]
            own = _compose_environment(self.secret_key, service, shell=self.extra_env)
            environment.update({name: value for name, value in own.items() if name not in common})
            environment.update(self.reader_pauses)
        return environment

    def _command(self, service: str) -> list[str]:
        command = list(command_of(service))
        if service == "mailreader":
            assert command[:3] == ["python", "manage.py", "read_mail"]
            command[0] = sys.executable
            if self.reader_pauses:
                command[1:2] = ["-m", "tests.paused_reader"]
        if service == "web":
            command[command.index("--bind") + 1] = f"127.0.0.1:{self.port}"
            command[command.index("--workers") + 1] = str(self.web_workers)
            command += self.web_options
        if service == "worker":
            command[command.index("--concurrency") + 1] = str(self.worker_concurrency)
        if service == "beat":
            command[command.index("-s") + 1] = str(self.folder / "celerybeat-schedule")
        return command

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"

    def prepare(self, *, migrate: bool = False) -> Stack:
        """collectstatic (production serves hashed, compressed files), and migrate if asked."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.private_root.mkdir(parents=True, exist_ok=True)
        if migrate:
            self.manage("migrate", "--noinput")
        global _collected_static
        if _collected_static is None:  # once per test process
            self.manage("collectstatic", "--noinput")
            _collected_static = self.static_root
        elif _collected_static != self.static_root:
            shutil.copytree(_collected_static, self.static_root, dirs_exist_ok=True)
        return self

    def start(self, *names: str) -> Stack:
        for name in names or ("web", "worker", "beat"):
            process = Process(name, self._command(name), self.env_of(name), self.folder / f"{name}.log")
            self.processes[name] = process.start()
        for name in names or ("web", "worker", "beat"):
            self.wait_ready(name)
        return self

    def restart(self, name: str) -> None:
        old = self.processes.pop(name)
        old.kill()
        self.start(name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        process = self.processes[name]
        marker = {"web": None, "worker": "ready.", "beat": "beat: Starting", "mailreader": "Mail reader ready"}[name]

        def ready():
            if not process.alive():
                raise AssertionError(f"{name} exited with {process.popen.returncode}\n{process.tail()}")
            if name == "web":
                return self.get("/").status == 200
            return marker in process.log()

        wait_until(ready, timeout=timeout, what=f"{name} to be ready", every=0.2, logs=self.logs())

    def get(self, path: str):
        try:
            return urllib.request.urlopen(self.url + path, timeout=5)  # noqa: S310 (http://127.0.0.1 only)
        except urllib.error.HTTPError as error:
            return error
        except OSError as error:
            return _Failed(str(error))

    def logs(self) -> str:
        return "\n".join(process.tail() for process in self.processes.values())

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


@dataclass
class _Failed:
    reason: str
    status: int = 0


def usable_in_production(user, password: str) -> None:
    """Give a test user a password the production settings' hashers accept (the tests hash with MD5).

    A cheap PBKDF2 hash: production checks it (its second hasher), then rehashes it with Argon2id, its first.
    """
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
