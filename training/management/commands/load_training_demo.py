from django.core.management.base import BaseCommand, CommandError

from ...demo import TrainingDemoError, load_training_demo


class Command(BaseCommand):
    help = "Load the training demo: frameworks, job profiles, curricula, staff profiles, assignments (idempotent)."

    def handle(self, *args, **options):
        try:
            load_training_demo(log=self.stdout.write)
        except (TrainingDemoError, KeyError) as exc:
            raise CommandError(f"Training demo could not be loaded: {exc}") from exc
        self.stdout.write(self.style.SUCCESS("Training demo loaded."))
