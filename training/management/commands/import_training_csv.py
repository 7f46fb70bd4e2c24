from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kmsite.progress import Progress

from ...importer import KINDS, ImportFileError, decode_upload, run_import


class Command(BaseCommand):
    help = (
        "Import units, users or assignments from a CSV file. Every row is validated first; nothing is "
        "written unless the whole file is valid. Use --dry-run to check a file without writing."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(KINDS), help="What the file contains")
        parser.add_argument("path", help="CSV file (UTF-8, header on the first line)")
        parser.add_argument("--dry-run", action="store_true", help="Validate every row and write nothing")
        parser.add_argument("--as-user", help="Username recorded as the creator of imported assignments")

    def handle(self, *args, kind, path, dry_run=False, as_user=None, **options):
        try:
            text = decode_upload(Path(path).read_bytes())
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        actor = None
        if as_user:
            actor = get_user_model().objects.filter(username=as_user).first()
            if actor is None:
                raise CommandError(f"No user {as_user!r}.")
        total = max(0, len(text.splitlines()) - 1)
        with Progress(self.stdout, total, "Rows") as bar:
            result = run_import(kind, text, dry_run=dry_run, actor=actor, progress=lambda line: bar.advance())
        for error in result.errors:
            self.stderr.write(str(error))
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(self.style.SUCCESS(("Dry run: " if dry_run else "") + result.summary()))
