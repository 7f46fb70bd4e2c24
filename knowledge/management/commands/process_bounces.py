import json
import mailbox
import sys

from django.core.management.base import BaseCommand, CommandError

from ...subscriptions.bounces import Summary, process, process_maildir


class Command(BaseCommand):
    help = (
        "Read delivery status notifications (bounces, RFC 3464) of GovKM's notification e-mails and suspend "
        "the addresses that failed: from a Maildir (--maildir, e.g. from cron), from files, or one message "
        "on standard input ('-', e.g. an MTA alias piping the bounce address here). Anything that is not a "
        "bounce of ours changes nothing and is listed. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("messages", nargs="*", help="Files holding one message each; '-' for standard input")
        parser.add_argument("--maildir", help="A Maildir whose new messages are read (bounces applied are removed)")
        parser.add_argument("--keep", action="store_true", help="With --maildir: mark applied bounces seen, keep them")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON")

    def handle(self, *args, **options):
        if not options["messages"] and not options["maildir"]:
            raise CommandError("Give --maildir DIR, or message files ('-' for standard input).")
        summary = Summary()
        if options["maildir"]:
            try:
                process_maildir(options["maildir"], summary, keep=options["keep"])
            except (FileNotFoundError, mailbox.NoSuchMailboxError) as exc:
                raise CommandError(f"No Maildir at {options['maildir']}: {exc}") from None
        for name in options["messages"]:
            if name == "-":
                process(sys.stdin.buffer.read(), summary)
                continue
            try:
                with open(name, "rb") as handle:
                    process(handle.read(), summary)
            except OSError as exc:
                raise CommandError(f"Cannot read {name}: {exc}") from None
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2))
            return
        self.stdout.write(f"{summary.reports} bounce report(s) of ours; suspended: {len(summary.suspended)}, "
                          f"failure counted: {len(summary.counted)}, ignored: {len(summary.ignored)}")
        for address in summary.suspended:
            self.stdout.write(f"  suspended {address}")
        for what, why in summary.ignored:
            self.stdout.write(f"  ignored {what}: {why}")
