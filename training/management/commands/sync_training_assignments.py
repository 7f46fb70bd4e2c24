from django.core.management.base import BaseCommand

from kmsite.progress import Progress

from ...assignments import expand_assignment
from ...models import Assignment


class Command(BaseCommand):
    help = "Re-expand every active assignment so that everyone it reaches has an enrolment (idempotent)."

    def handle(self, *args, **options):
        assignments = list(Assignment.objects.filter(active=True))
        created = 0
        with Progress(self.stdout, len(assignments), "Assignments") as bar:
            for assignment in assignments:
                created += expand_assignment(assignment)
                bar.advance()
        self.stdout.write(self.style.SUCCESS(f"{created} enrolment(s) created."))
