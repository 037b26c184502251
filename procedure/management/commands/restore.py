"""manage.py restore FOLDER: a backup of ``manage.py backup`` onto an empty database and store (procedure/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from procedure.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup folder onto this site's database and private storage; both must be empty."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="a folder written by manage.py backup")

    def handle(self, *args, folder: Path, **options):
        try:
            summary = backup_restore(folder)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restored from {summary.folder}: the database and {summary.files} files ({summary.bytes} bytes), "
            "every SHA-256 checked."
        )
