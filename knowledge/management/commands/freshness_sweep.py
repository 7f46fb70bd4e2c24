import datetime
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kmsite.progress import Progress

from ...freshness import Freshness
from ...sweep import run_sweep


class CommandProgress:
    """Adapts the sweep's stages to one progress bar each."""

    def __init__(self, stdout):
        self.stdout, self.bar = stdout, None

    def start(self, label, total):
        self.finish()
        self.bar = Progress(self.stdout, total, label).__enter__()

    def advance(self, n=1):
        if self.bar is not None:
            self.bar.advance(n)

    def finish(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class Command(BaseCommand):
    help = (
        "Recompute every page's freshness, open review tasks, send owners their digest, escalate pages "
        "overdue past the grace period and store today's figures. Safe to run again at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", metavar="OUT", help="Write the summary as JSON to this file ('-' for stdout)")
        parser.add_argument("--date", help="Sweep as if today were YYYY-MM-DD (replays, demonstrations)")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--no-email", action="store_true", help="Record notifications but send no e-mail")

    def handle(self, *args, **options):
        out, date = options["json"], options["date"]
        batch_size, no_email = options["batch_size"], options["no_email"]
        try:
            today = datetime.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from exc
        progress = CommandProgress(self.stdout)
        try:
            summary = run_sweep(today=today, progress=progress, batch_size=batch_size, send_email=not no_email)
        finally:
            progress.finish()
        data = summary.as_dict()
        states = ", ".join(f"{Freshness.LABELS[s].lower()} {n}" for s, n in summary.states.items())
        self.stdout.write(f"{summary.pages} live pages: {states}.")
        sent = sum(summary.notifications.values())
        self.stdout.write(self.style.SUCCESS(
            f"{summary.changed} pages changed state or due date; {summary.tasks_opened} review tasks opened; "
            f"{sent} notifications ({summary.reminders} reminders, {summary.escalations} escalations); "
            f"{summary.emails_sent} e-mails sent; {summary.transfers} pages handed over; {summary.seconds:.1f}s."
        ))
        if out == "-":
            self.stdout.write(_dumps(data))
        elif out:
            Path(out).write_text(_dumps(data) + "\n", encoding="utf-8")
            self.stdout.write(f"Summary written to {out}")


def _dumps(data):
    return json.dumps(data, indent=2, sort_keys=True)
