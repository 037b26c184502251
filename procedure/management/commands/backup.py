"""manage.py backup FOLDER: the database and every private file it names, consistent (procedure/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from procedure.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the PostgreSQL database and every private file it names (documents, letters, emails) into FOLDER."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="a new (or empty) folder to write the backup into")

    def handle(self, *args, folder: Path, **options):
        try:
            summary = backup_create(folder)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Backup written to {summary.folder}: the database and {summary.files} files ({summary.bytes} bytes)."
        )
