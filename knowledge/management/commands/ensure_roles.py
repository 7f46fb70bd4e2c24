from django.core.management.base import BaseCommand
from wagtail.models import GroupPagePermission

from ...roles import EDITORS, ensure_roles, misplaced_restricted_pages


class Command(BaseCommand):
    help = ("Create or update GovKM's role groups, their permissions and the review workflow; give Editors "
            "page permissions on every section except restricted ones (safe to run again).")

    def handle(self, *args, **options):
        ensure_roles()
        sections = sorted({g.page.title for g in GroupPagePermission.objects.filter(group__name=EDITORS)
                           .select_related("page")})
        self.stdout.write(f"Editors may edit in: {', '.join(sections) or 'no section'}")
        misplaced = misplaced_restricted_pages()
        for page in misplaced:
            self.stderr.write(self.style.WARNING(
                f"Restricted page outside a restricted section (Editors can open it in the admin; move it into "
                f"a restricted section): {page.title} ({page.url_path})"))
        self.stdout.write(self.style.SUCCESS(
            f"Roles up to date; {len(misplaced)} restricted page(s) outside a restricted section."))
