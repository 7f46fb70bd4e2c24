"""The demo site, every app's part in order.

This command composes the apps, like ``kmsite/urls.py``: knowledge's pages,
taxonomy and users first, then training's frameworks and curricula, which
name those pages and users, then the search index over the pages. Each app
owns its own step (``knowledge.demo``, ``training.demo``, ``search_reindex``)
and knows nothing of the others; only this composition knows the order.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from kmsite.progress import Progress
from knowledge.demo import DEMO_PASSWORD, DemoContentError, load_demo, load_pages, reset_demo
from search.indexing import forget_index


class Command(BaseCommand):
    help = "Load GovKM's demo content (idempotent: only what is missing is created)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete the demo content first and start over")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")
        parser.add_argument("--no-index", action="store_true", help="Leave indexing to the worker")

    def handle(self, *args, reset=False, interactive=True, no_index=False, **options):
        if reset:
            if interactive:
                answer = input("This deletes all knowledge pages, topics, units and demo users. Type 'yes' to continue: ")
                if answer.strip().lower() != "yes":
                    raise CommandError("Reset cancelled.")
            reset_demo()
            forget_index()
            self.stdout.write("Demo content removed.")
        try:
            total = len(load_pages())
            with Progress(self.stdout, total, "Pages") as bar:
                created, present = load_demo(log=self.stdout.write, progress=bar.advance)
                bar.done = created + present
        except (DemoContentError, KeyError) as exc:
            raise CommandError(f"Demo content is invalid: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Demo pages: {created} created, {present} already present."))
        call_command("load_training_demo", stdout=self.stdout)
        if created and not no_index:
            call_command("search_reindex", interactive=False, stdout=self.stdout)
        self.stdout.write(
            f"Demo users (password '{DEMO_PASSWORD}'): admin (administrator), owner (content owner), "
            "editor (editor), hr (HR), civil (civil servant)"
        )
