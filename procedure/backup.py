"""Backup and restore: the PostgreSQL database and every private file it names, in one folder.

A backup folder holds ``database.dump`` (``pg_dump --format=custom``), ``files/<name>`` for each private
file a row of the dump names (documents, letters, raw emails; never the staging folder) and
``manifest.json`` with the SHA-256 of each. It is consistent: the dump is taken from one snapshot of the
database, and the list of files is read from that same snapshot, so every file the dump names is in the
folder. Files are written once under random names and never changed, so copying them after the snapshot
copies what the snapshot meant; a file uploaded later belongs to a later backup.

A restore goes onto an empty database and an empty store only: it checks every hash of the folder first,
loads the dump with ``pg_restore``, writes each file back through the storage API (a folder or an
S3-compatible bucket alike) and reads each one back to check its hash. Commands: ``manage.py backup``,
``manage.py restore`` (docs/operations in the README).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.files import File
from django.core.files.storage import Storage
from django.db import connection, models, transaction
from django.utils import timezone

from jpdit_complaints.storage import private_storage

ARCHIVE_FORMAT = 1
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
FILES_DIR = "files"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    files: int
    bytes: int


# --- What is backed up ---------------------------------------------------------------------------


def private_file_fields() -> list[tuple[type[models.Model], str]]:
    """Every model field holding a private file (documents, letters, raw emails...), found by the app registry."""
    storage = private_storage()
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField) and field.storage is storage
    ]


def referenced_files() -> list[str]:
    """The names of the private files the database names, sorted, each once."""
    names: set[str] = set()
    for model, field in private_file_fields():
        names.update(name for name in model._base_manager.values_list(field, flat=True) if name)
    return sorted(names)


def sha256_of(handle) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


# --- PostgreSQL's own tools --------------------------------------------------------------------------


def _postgres_environment() -> dict[str, str]:
    """pg_dump's and pg_restore's connection, as Django's, in PG* variables (never a password in ``ps``)."""
    if connection.vendor != "postgresql":
        raise BackupError(f"backup and restore need PostgreSQL (DATABASE_URL=postgres://...), not {connection.vendor}")
    db = connection.settings_dict
    values = {"PGDATABASE": db["NAME"], "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"]}
    values |= {"PGHOST": db["HOST"], "PGPORT": str(db["PORT"] or "")}
    return {**os.environ, **{name: str(value) for name, value in values.items() if value}}


def tool_major_version(program: str) -> int:
    """The major version of ``program`` (pg_dump, pg_restore) found on PATH."""
    path = shutil.which(program)
    if path is None:
        raise BackupError(f"{program} is not on PATH: install PostgreSQL's client programs (postgresql-client)")
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    found = re.search(r"(\d+)(?:\.\d+)?", output)
    if found is None:
        raise BackupError(f"could not read the version of {program}: {output!r}")
    return int(found.group(1))


def server_major_version() -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000  # type: ignore[attr-defined]


def _run(command: list[str]) -> None:
    result = subprocess.run(command, env=_postgres_environment(), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        # Its first error line says what went wrong (the rest repeats the statement that failed).
        errors = [line for line in result.stderr.splitlines() if ": error:" in line or line.startswith("ERROR:")]
        first = (errors or [result.stderr])[0][:2000]
        raise BackupError(f"{Path(command[0]).name} failed ({result.returncode}): {first}")


# --- Backup ------------------------------------------------------------------------------------------


def backup_create(folder: Path) -> BackupSummary:
    """Write a consistent backup of the database and every private file it names into ``folder`` (new or empty)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: give a new folder for each backup")
    _postgres_environment()  # refuses anything but PostgreSQL before anything is written
    server, pg_dump = server_major_version(), tool_major_version("pg_dump")
    if pg_dump != server:
        raise BackupError(f"pg_dump {pg_dump} does not match the server's PostgreSQL {server}: install client {server}")
    (folder / FILES_DIR).mkdir(parents=True, exist_ok=True)

    # One snapshot for the dump and for the list of files it names.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        command = [shutil.which("pg_dump") or "pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
        _run([*command, f"--snapshot={snapshot}", f"--file={folder / DUMP_NAME}"])
        names = referenced_files()
        taken_at = timezone.now()

    storage = private_storage()
    files, total = [], 0
    for name in names:
        target = folder / FILES_DIR / _safe_relative(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with storage.open(name, "rb") as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy, CHUNK)
        except FileNotFoundError:
            raise BackupError(
                f"the database names the file {name}, which is not in storage (deleted since the snapshot by the "
                "retention sweep, or lost): run the backup again; if it is still missing, it was lost before"
            ) from None
        with target.open("rb") as copied:
            digest = sha256_of(copied)
        files.append({"name": name, "sha256": digest, "size": target.stat().st_size})
        total += target.stat().st_size

    with (folder / DUMP_NAME).open("rb") as dump:
        dump_sha256 = sha256_of(dump)
    manifest = {
        "format": ARCHIVE_FORMAT,
        "taken_at": taken_at.isoformat(),
        "postgresql": server,
        "database": {"file": DUMP_NAME, "sha256": dump_sha256},
        "files": files,
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
    return BackupSummary(folder=folder, files=len(files), bytes=total)


def _safe_relative(name: str) -> Path:
    """A storage name as a path inside the backup folder (never outside it)."""
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or not name:
        raise BackupError(f"refusing a file name that would leave the backup folder: {name!r}")
    return path


# --- Restore -----------------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, after checking the hash of the dump and of every file in the folder."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a backup: it has no {MANIFEST_NAME}") from None
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this release reads {ARCHIVE_FORMAT})")
    problems = []
    for path, expected in [(folder / DUMP_NAME, manifest["database"]["sha256"])] + [
        (folder / FILES_DIR / _safe_relative(item["name"]), item["sha256"]) for item in manifest["files"]
    ]:
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        with path.open("rb") as handle:
            if sha256_of(handle) != expected:
                problems.append(f"{path} does not match its SHA-256 in the manifest")
    if problems:
        raise BackupError("the backup is damaged: " + "; ".join(problems))
    return manifest


def stored_names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file's name in ``storage`` (a folder's files, or a bucket's objects), walking down the folders."""
    try:
        folders, names = storage.listdir(folder)
    except FileNotFoundError:  # a filesystem store whose folder does not exist yet: empty
        return
    prefix = f"{folder}/" if folder else ""
    yield from (prefix + name for name in names)
    for child in folders:
        yield from stored_names(storage, prefix + child)


def backup_restore(folder: Path) -> BackupSummary:
    """Restore the backup in ``folder`` onto this site's database and private storage, both empty."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    _postgres_environment()
    tables = connection.introspection.table_names()
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables): restore onto a new, empty database")
    storage = private_storage()
    if next(stored_names(storage), None) is not None:
        raise BackupError("the private file storage is not empty: restore onto a new, empty folder or bucket")
    pg_restore = tool_major_version("pg_restore")
    if pg_restore < manifest["postgresql"]:
        raise BackupError(f"pg_restore {pg_restore} is older than the backup's PostgreSQL {manifest['postgresql']}")

    command = [shutil.which("pg_restore") or "pg_restore", "--exit-on-error", "--single-transaction"]
    command += ["--no-owner", "--no-privileges", f"--dbname={connection.settings_dict['NAME']}"]
    _run([*command, str(folder / DUMP_NAME)])

    total = 0
    for item in manifest["files"]:
        with (folder / FILES_DIR / _safe_relative(item["name"])).open("rb") as source:
            saved = storage.save(item["name"], File(source), max_length=255)
        if saved != item["name"]:
            raise BackupError(f"storage saved {item['name']} as {saved}: is the store really empty?")
        total += item["size"]
    problems = list(_differences(storage, manifest["files"]))
    if problems:
        raise BackupError("files restored but not as backed up: " + "; ".join(problems))
    return BackupSummary(folder=folder, files=len(manifest["files"]), bytes=total)


def _differences(storage: Storage, files: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each restored file read back from storage whose SHA-256 is not the manifest's."""
    for item in files:
        with storage.open(item["name"], "rb") as handle:
            if sha256_of(handle) != item["sha256"]:
                yield f"{item['name']} differs"
