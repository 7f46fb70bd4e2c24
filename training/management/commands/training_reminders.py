from django.core.management.base import BaseCommand

from ...tasks import process_certificate_expiry, send_due_reminders


class Command(BaseCommand):
    help = (
        "Create recertification enrolments for certificates about to expire and e-mail due and overdue "
        "reminders (what the daily Celery beat tasks do). Safe to run more than once a day."
    )

    def handle(self, *args, **options):
        created = process_certificate_expiry()
        sent = send_due_reminders()
        self.stdout.write(self.style.SUCCESS(f"{created} recertification(s) assigned, {sent} reminder(s) sent."))
