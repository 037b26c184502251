"""Benchmark of email in: 10,000 messages through a real IMAP server, the mail reader and a Celery worker.

Usage:
    .venv/bin/python bench/inbound.py [--messages 10000] [--cases 1000] [--concurrency 2] [--keep] [--profile N]

The product runs as docker-compose.yml runs it (tests/stack.py, ``DJANGO_ENV=production``): the
``mailreader`` (``manage.py read_mail``, compose's command, reading complaints@ only) and a Celery worker
(compose's command, ``--concurrency 2``), on a fresh PostgreSQL database ``jpditmail_bench`` on
127.0.0.1:5432 (user postgres, trust; dropped afterwards unless --keep), a private redis-server (broker and
cache), a private Dovecot (tests/imap.py: Debian's dovecot-imapd, Maildir storage) and an SMTP server in
this process that keeps what the worker sends (the acknowledgements). No web server, no beat.

1. Warm-up, not timed: ``--cases`` new complaints are delivered and read, and their acknowledgements sent;
   they are the cases the replies and bounces below are about.
2. The reader is stopped and ``--messages`` messages are APPENDed to INBOX (timed apart, excluded), in a
   random order (fixed seed): 60 % new complaints from distinct senders, 20 % replies from a case's own
   address to our acknowledgement (In-Reply-To: its Message-ID), 10 % out-of-office auto-replies, 10 %
   bounces (RFC 3464 reports) of our acknowledgements. Each has its own Message-ID.
3. The reader is started again: the clock runs from then until the worker has read the last message
   (no row left ``stored``), then until the last acknowledgement reached the SMTP server. Every 0.5 s it
   samples the rows read and the resident memory (RSS) of the reader and of the worker (its main process
   and its pool processes): the peak so far is reported when 1,000 and when all messages were read.
4. Checks: one row per message, none left stored, none quarantined; what each became (new complaint,
   client message, automatic, bounce) in the proportions sent; one complaint and one acknowledgement
   per new sender; every message moved to Processed.
5. With --profile N: the worker stopped, N more messages are stored by the reader and read in this
   process by ``inbound.services.email_process`` under cProfile (CPU per message, where it goes).

Target on the 2-core reference machine: at least 50 messages a second end to end, and memory that does
not grow with the count. Everything goes to var/bench-inbound/<UTC time>/ (the processes' logs).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages (and tests.stack) importable
    sys.path.insert(0, str(ROOT))

PG = "postgres://postgres@127.0.0.1:5432"
BENCH_DATABASE = "jpditmail_bench"
ACKNOWLEDGEMENT = "has been received"
MIX = {"new complaint": 0.6, "reply": 0.2, "auto-reply": 0.1, "bounce": 0.1}
PLURAL = {"new complaint": "new complaints", "reply": "replies", "auto-reply": "auto-replies", "bounce": "bounces"}


# --- The messages ------------------------------------------------------------------------------------


def new_complaint(n: int, prefix: str = "client") -> bytes:
    from tests.inbound import mail

    return mail.plain(
        sender=f"Client {n} <{prefix}{n}@example.com>",
        subject=f"Complaint {prefix} {n}: the backup failed again",
        body=f"Dear JPD IT Services,\n\nThe nightly backup of our file server failed again ({prefix} {n}).\n"
        "Your engineer said it was fixed last week. Please look into it properly this time.\n",
        message_id=f"<{prefix}.{n}@mail.example.com>",
    )


def reply(n: int, address: str, our_message_id: str) -> bytes:
    from tests.inbound import mail

    return mail.plain(
        sender=address,
        subject="Re: Your complaint has been received",
        body=f"Thank you. One more detail (reply {n}): it also failed on Sunday.\n\n> Your complaint has been received",
        message_id=f"<reply.{n}@mail.example.com>",
        in_reply_to=our_message_id,
        references=our_message_id,
    )


def auto_reply(n: int, address: str) -> bytes:
    from tests.inbound import mail

    raw = mail.outlook_out_of_office(sender=address)
    return raw.replace(b"<OOF.0001@exchange.example.com>", f"<OOF.{n}@exchange.example.com>".encode())


def bounce(n: int, our_message_id: str) -> bytes:
    from tests.inbound import mail

    raw = mail.bounce(original_message_id=our_message_id)
    return raw.replace(b"<bounce.0004@mail.example.com>", f"<bounce.{n}@mail.example.com>".encode())


def messages(count: int, acknowledged: dict[str, str], first: int = 0) -> tuple[list[bytes], Counter]:
    """``count`` messages in the proportions of MIX, shuffled (fixed seed), numbered from ``first``; and how
    many of each kind."""
    generator = random.Random(17)
    kinds = [kind for kind, share in MIX.items() for _ in range(round(count * share))][:count]
    kinds += ["new complaint"] * (count - len(kinds))
    generator.shuffle(kinds)
    cases = sorted(acknowledged.items())
    made = []
    for n, kind in enumerate(kinds, start=first):
        address, our_id = cases[n % len(cases)]
        if kind == "new complaint":
            made.append(new_complaint(n))
        elif kind == "reply":
            made.append(reply(n, address, our_id))
        elif kind == "auto-reply":
            made.append(auto_reply(n, address))
        else:
            made.append(bounce(n, our_id))
    return made, Counter(kinds)


# --- Measuring ----------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    read: int
    reader_rss: int
    worker_rss: int  # the largest of its processes
    worker_total_rss: int  # all its processes together


@dataclass
class Run:
    started: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    all_read_at: float = 0.0
    all_acknowledged_at: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent during the run, by process

    def peak_until(self, read: int) -> Sample:
        upto = [s for s in self.samples if s.read <= read] or self.samples[:1]
        return Sample(
            upto[-1].seconds,
            read,
            max(s.reader_rss for s in upto),
            max(s.worker_rss for s in upto),
            max(s.worker_total_rss for s in upto),
        )

    def first_reaching(self, read: int) -> Sample | None:
        return next((s for s in self.samples if s.read >= read), None)


def rss(pid: int) -> tuple[int, int]:
    """(the largest RSS, the sum) of a process and its children, in bytes."""
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    sizes = []
    for process in processes:
        try:
            sizes.append(process.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return max(sizes, default=0), sum(sizes)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, living and reaped."""
    import psutil

    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on the machine (the benchmark's backends among them)."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("postgres", "postmaster"):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def counts(database_url: str) -> tuple[int, int]:
    """(rows, rows read) of inbound_inboundemail."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        row = db.execute("SELECT count(*), count(*) FILTER (WHERE state <> 'stored') FROM inbound_inboundemail")
        total, read = row.fetchone()
    return total, read


class Acknowledgements:
    """The acknowledgements the SMTP server received: the client's address → the Message-ID of ours.

    Read incrementally: the SMTP server runs in this process, and parsing every message again at each
    sample would starve it (the worker would then wait for its replies, and the figures would be ours).
    """

    def __init__(self, mail_server):
        self.mail_server = mail_server
        self.seen = 0
        self.by_client: Counter = Counter()
        self.message_ids: dict[str, str] = {}

    def read(self) -> Acknowledgements:
        with self.mail_server.lock:
            new = self.mail_server.messages[self.seen :]
            self.seen += len(new)
        for message in new:
            if ACKNOWLEDGEMENT in str(message["Subject"]):
                address = message["To"].addresses[0].addr_spec
                self.by_client[address] += 1
                self.message_ids.setdefault(address, str(message["Message-ID"]))
        return self


def wait_for(check, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --- The run -----------------------------------------------------------------------------------------------


def run(args, folder: Path) -> int:
    from tests.imap import Dovecot
    from tests.stack import MailServer, RedisServer, Stack

    database_url = f"{PG}/{BENCH_DATABASE}"
    redis = RedisServer(folder / "redis").start()
    mail_server = MailServer().start()
    imap = Dovecot().start()
    stack = Stack(
        folder=folder / "stack",
        database_url=database_url,
        redis=redis,
        mail=mail_server,
        private_root=folder / "private",
        extra_env={
            "INBOUND_COMPLAINTS_URL": imap.url("complaints"),
            "INBOUND_APPEALS_URL": "",
        },
        worker_concurrency=args.concurrency,
    )
    problems: list[str] = []
    try:
        stack.folder.mkdir(parents=True)
        stack.private_root.mkdir(parents=True)
        stack.manage("migrate", "--noinput")

        # 1. Warm-up: the cases the replies and bounces are about.
        print(f"warm-up: {args.cases} new complaints, read and acknowledged ...", flush=True)
        imap.append("complaints", *(new_complaint(n, prefix="case") for n in range(args.cases)))
        stack.start("worker", "mailreader")
        wait_for(lambda: counts(database_url) == (args.cases, args.cases), 300, "the warm-up's messages")
        warm_up = Acknowledgements(mail_server)
        wait_for(lambda: len(warm_up.read().by_client) == args.cases, 300, "the warm-up's acknowledgements")
        acknowledged = warm_up.message_ids
        stack.processes.pop("mailreader").stop()

        # 2. The messages, delivered while the reader is stopped.
        batch, kinds = messages(args.messages, acknowledged)
        appending = time.monotonic()
        for start in range(0, len(batch), 500):
            imap.append("complaints", *batch[start : start + 500])
        appended = time.monotonic() - appending
        size = sum(map(len, batch))
        print(
            f"appended {len(batch)} messages ({size / 1e6:.1f} MB) in {appended:.1f} s (not timed): "
            + ", ".join(f"{kinds[k]} {PLURAL[k]}" for k in MIX),
            flush=True,
        )
        del batch
        acknowledgements = Acknowledgements(mail_server)
        acknowledgements.seen = len(mail_server.messages)  # from here on, only this run's acknowledgements

        # 3. The reader again: the clock runs.
        result = Run(started=time.monotonic())
        cpu_before = {"worker": cpu_seconds(stack.processes["worker"].pid), "PostgreSQL": postgres_cpu_seconds()}
        stack.start("mailreader")
        reader, worker = stack.processes["mailreader"], stack.processes["worker"]
        expected_rows = args.cases + args.messages
        while True:
            _total, read = counts(database_url)
            reader_rss, _ = rss(reader.pid)
            worker_rss, worker_total = rss(worker.pid)
            now = time.monotonic() - result.started
            result.samples.append(Sample(now, read - args.cases, reader_rss, worker_rss, worker_total))
            if read >= expected_rows and not result.all_read_at:
                result.all_read_at = now
            if read >= expected_rows and "reader" not in result.cpu:
                result.cpu = {
                    "reader": cpu_seconds(reader.pid),
                    "worker": cpu_seconds(worker.pid) - cpu_before["worker"],
                    "PostgreSQL": postgres_cpu_seconds() - cpu_before["PostgreSQL"],
                }
            if result.all_read_at and len(acknowledgements.read().by_client) >= kinds["new complaint"]:
                result.all_acknowledged_at = now
                break
            if now > args.timeout:
                problems.append(f"timed out after {args.timeout} s: {read - args.cases} read")
                break
            if not reader.alive() or not worker.alive():
                problems.append("the reader or the worker died")
                break
            time.sleep(0.5)
        time.sleep(3)  # nothing may arrive twice
        problems += check(database_url, args, kinds, acknowledgements.read(), imap)
        report(result, args, kinds, problems, appended)
        if args.profile:
            profile(stack, imap, acknowledged, args)
    finally:
        stack.stop()
        mail_server.stop()
        redis.stop()
        imap.remove()
    return 1 if problems else 0


def check(database_url: str, args, kinds: Counter, acknowledgements: Acknowledgements, imap) -> list[str]:
    import psycopg

    problems = []
    with psycopg.connect(database_url, autocommit=True) as db:
        by_outcome = dict(
            db.execute(
                "SELECT state || ' ' || outcome, count(*) FROM inbound_inboundemail "
                "WHERE message_id NOT LIKE 'case.%%' GROUP BY 1",
            ).fetchall()
        )
        stored, quarantined = db.execute(
            "SELECT count(*) FILTER (WHERE state = 'stored'), count(*) FILTER (WHERE quarantined) "
            "FROM inbound_inboundemail"
        ).fetchone()
        complaints, senders = db.execute("SELECT count(*), count(DISTINCT email) FROM cases_complaint").fetchone()
        client_messages = db.execute("SELECT count(*) FROM cases_clientmessage").fetchone()[0]
    expected = {
        "done new_complaint": kinds["new complaint"],
        "done client_message": kinds["reply"],
        "automatic ": kinds["auto-reply"],
        "done bounce": kinds["bounce"],
    }
    if by_outcome != expected:
        problems.append(f"outcomes {by_outcome}, expected {expected}")
    if stored or quarantined:
        problems.append(f"{stored} left stored, {quarantined} quarantined")
    new_cases = args.cases + kinds["new complaint"]
    if (complaints, senders, client_messages) != (new_cases, new_cases, kinds["reply"]):
        problems.append(f"{complaints} complaints from {senders} senders, {client_messages} client messages")
    acknowledged = acknowledgements.by_client
    if len(acknowledged) != kinds["new complaint"] or set(acknowledged.values()) != {1}:
        problems.append(f"{sum(acknowledged.values())} acknowledgements to {len(acknowledged)} clients")
    moved = imap.count("complaints", "Processed")
    if moved != args.cases + args.messages or imap.count("complaints", "INBOX"):
        problems.append(f"{moved} messages in Processed")
    return problems


def profile(stack, imap, acknowledged: dict[str, str], args) -> None:
    """--profile N: N more messages stored by the reader (the worker stopped), then read by
    ``inbound.services.email_process`` in this process under cProfile, with the stack's production settings."""
    import cProfile
    import pstats

    stack.processes.pop("worker").stop()
    batch, _kinds = messages(args.profile, acknowledged, first=args.messages)
    before = counts(stack.database_url)[0]
    imap.append("complaints", *batch)
    wait_for(lambda: counts(stack.database_url)[0] == before + len(batch), 120, "the profiled messages stored")
    os.environ.update(stack.env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "jpdit_complaints.settings.production"
    import django

    django.setup()
    from inbound import services
    from inbound.models import InboundEmail

    ids = list(InboundEmail.objects.filter(state="stored").order_by("pk").values_list("pk", flat=True))
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for email_id in ids:
        services.email_process(email_id)
    profiler.disable()
    cpu = time.process_time() - started
    print(
        f"\nprofile: {len(ids)} messages read in this process, {cpu * 1000 / len(ids):.1f} ms CPU each "
        "(the worker's deliveries of acknowledgements not included); by cumulative time:"
    )
    profiler.dump_stats(stack.folder.parent / "email_process.pstats")  # for a closer look: python -m pstats
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"inbound|cases|notifications|appeals|django/db", 25)


def report(result: Run, args, kinds: Counter, problems: list[str], appended: float) -> None:
    mb = 1024 * 1024
    print(
        f"\n{args.messages} messages ({', '.join(f'{kinds[k]} {PLURAL[k]}' for k in MIX)}), reader + worker "
        f"--concurrency {args.concurrency}; APPEND took {appended:.1f} s (excluded)"
    )
    if result.all_read_at:
        print(f"all read in {result.all_read_at:.1f} s: {args.messages / result.all_read_at:.1f} messages/s end to end")
    if result.all_acknowledged_at:
        print(
            f"all {kinds['new complaint']} acknowledgements at the SMTP server after {result.all_acknowledged_at:.1f} s"
        )
    print("\n| read | after | messages/s so far | reader RSS peak | worker RSS peak (largest process / all) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for mark in (1000, args.messages // 2, args.messages):
        reached = result.first_reaching(mark)
        if reached is None:
            continue
        peak = result.peak_until(reached.read)
        print(
            f"| {mark} | {reached.seconds:.1f} s | {mark / reached.seconds:.1f} | {peak.reader_rss / mb:.0f} MB | "
            f"{peak.worker_rss / mb:.0f} MB / {peak.worker_total_rss / mb:.0f} MB |"
        )
    if result.cpu:
        print(
            "\nCPU until all were read, ms per message: "
            + ", ".join(f"{name} {seconds * 1000 / args.messages:.1f}" for name, seconds in result.cpu.items())
            + " (PostgreSQL: every postgres process on the machine)"
        )
    print("\nchecks: " + ("all passed" if not problems else "FAILED: " + "; ".join(problems)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=1000, help="warm-up complaints (replies and bounces name them)")
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's processes (compose: 2)")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DATABASE}")
    parser.add_argument("--profile", type=int, default=0, help="then N more messages read here under cProfile")
    args = parser.parse_args()
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        sys.exit("PostgreSQL is not reachable on 127.0.0.1:5432; the benchmark needs it.")
    if not Path("/usr/sbin/dovecot").exists():
        sys.exit("Dovecot is not installed (Debian's dovecot-imapd); the benchmark needs it.")
    import psycopg

    started = datetime.now(UTC)
    folder = ROOT / "var" / "bench-inbound" / started.strftime("%Y%m%dT%H%M%SZ")
    load = os.getloadavg()
    commit = os.popen("git -C " + str(ROOT) + " rev-parse --short HEAD").read().strip()  # noqa: S605
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, commit {commit}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"files in {folder}",
        flush=True,
    )
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        return run(args, folder)
    finally:
        if not args.keep:
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
