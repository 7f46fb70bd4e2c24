from django.core.management.base import BaseCommand

from ...analytics import conf, prune


class Command(BaseCommand):
    help = "Delete search query logs and accountability records older than their retention."

    def handle(self, *args, **options):
        deleted = prune()
        self.stdout.write(
            f"Deleted {deleted['queries']} query log entries (older than {conf('RETENTION_DAYS')} days) and "
            f"{deleted['exposures']} accountability records (older than {conf('ACCOUNTABILITY_RETENTION_DAYS')} days)."
        )
