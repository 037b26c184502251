"""A real IMAP server for the tests: Debian's Dovecot, private to one test, which the test may stop and restart.

``Dovecot`` writes its own dovecot.conf in a temporary folder (listening on 127.0.0.1 on a free port,
no TLS, users from a passwd-file, Maildir storage), runs ``dovecot -F`` as a child process and reaches
it with imap-tools. The mailbox users are ``complaints`` and ``appeals``; ``url()`` is what
``INBOUND_*_URL`` takes (``imap://`` is allowed on loopback only).

Run as root (CI, this machine) Dovecot's own processes run as its ``dovecot`` and ``dovenull`` users
and the mail belongs to ``dovecot``; as any other user (a laptop), everything runs as that user.
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

from imap_tools import MailBoxUnencrypted

from tests import services
from tests.stack import Process, free_port, port_open, wait_until

USERS = ("complaints", "appeals")
PASSWORD = "imap-test-password"


class Dovecot:
    def __init__(self):
        binary = services.dovecot_path()
        if binary is None:
            services.missing("needs Debian's Dovecot at /usr/sbin/dovecot (apt-get install dovecot-imapd)")
        self.binary = str(binary)
        # Its own folder under /tmp, not pytest's: pytest's is private to root (mode 0700), which the
        # dovecot user could not enter.
        self.root = Path(tempfile.mkdtemp(prefix="jpdit-test-imap-"))
        self.root.chmod(0o755)
        self.mail = self.root / "mail"
        self.run_dir = self.root / "run"
        self.port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.process: Process | None = None
        self._write_configuration()

    def _users(self) -> tuple[str, str, str]:
        """(internal user, login user, mail user): Dovecot's own when run as root, else the current user."""
        if os.geteuid() == 0:
            return "dovecot", "dovenull", "dovecot"
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me, me

    def _write_configuration(self) -> None:
        internal, login, mail_user = self._users()
        mail_group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
        for folder in (self.mail, self.run_dir, self.root / "state"):
            folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.mail, mail_user, mail_group)
        (self.root / "users").write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}\n" for user in USERS))
        self.conf.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.run_dir}
state_dir = {self.root / "state"}
log_path = {self.log_path}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{self.mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root / "users"}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={self.mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        )

    # --- Running ----------------------------------------------------------------------------------

    def start(self) -> Dovecot:
        command = [self.binary, "-F", "-c", str(self.conf)]
        self.process = Process("dovecot", command, dict(os.environ), self.root / "dovecot-output.log")
        self.process.start()
        wait_until(lambda: port_open(self.port), timeout=15, what="Dovecot to listen", logs=self.tail())
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        wait_until(lambda: not port_open(self.port), timeout=10, what="Dovecot to stop")
        # A restart needs an empty socket folder (a socket left behind would be taken for a running server).
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def tail(self, chars: int = 3000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- dovecot log ({self.log_path}) ---\n{text[-chars:]}"

    # --- What the tests do to the mailboxes ---------------------------------------------------------

    def url(self, user: str = "complaints", folder: str = "INBOX") -> str:
        return f"imap://{user}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/{folder}"

    def connect(self, user: str = "complaints") -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=30).login(user, PASSWORD, initial_folder=None)

    def append(
        self, user: str, *messages: bytes, folder: str = "INBOX", received_at: dt.datetime | None = None
    ) -> None:
        """APPEND messages, as the mail server delivers them; ``received_at`` becomes their INTERNALDATE."""
        with self.connect(user) as box:
            for raw in messages:
                box.append(raw, folder, dt=received_at)

    def folder(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The messages in a folder (raw), oldest first; [] if the folder does not exist."""
        with self.connect(user) as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder, readonly=True)
            _typ, data = box.client.uid("FETCH", "1:*", "(BODY.PEEK[])")
            return [item[1] for item in data if isinstance(item, tuple)]

    def count(self, user: str, folder: str = "INBOX") -> int:
        with self.connect(user) as box:
            if not box.folder.exists(folder):
                return 0
            return box.folder.status(folder, ["MESSAGES"])["MESSAGES"]

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.connect(user) as box:
            return box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"]

    def new_uidvalidity(self, user: str) -> None:
        """Make the server give INBOX a new UIDVALIDITY, as it does when it rebuilds a lost index: stopped,
        the folder's UID list removed, started again. Its messages stay, under new UIDs."""
        before = self.uidvalidity(user)
        self.stop()
        # dovecot-uidvalidity stays: it hands out the next UIDVALIDITY, so the new one differs from the old.
        (self.mail / user / "dovecot-uidlist").unlink(missing_ok=True)
        for index in (self.mail / user).glob("dovecot.index*"):
            index.unlink()
        self.start()
        after = self.uidvalidity(user)
        assert after != before, f"UIDVALIDITY stayed {before}"
