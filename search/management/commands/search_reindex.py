"""Rebuild the search index from every live knowledge page.

Builds into a fresh copy while searches keep answering from the current one,
then swaps atomically, then catches up with pages published meanwhile.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kmsite.progress import Progress

from ...backends import get_search_backend
from ...backends.base import SITE_NAMESPACE
from ...indexing import build_chunks, index_page
from ...models import IndexedPage, IndexOutbox


class Command(BaseCommand):
    help = "Rebuild the search index (searches keep working meanwhile)."

    def add_arguments(self, parser):
        parser.add_argument("--backend", default=None, help="Backend alias (default: KM_SEARCH_BACKEND)")
        parser.add_argument("--page", type=int, action="append", help="Only re-index this page id (repeatable)")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, backend=None, page=None, interactive=True, **options):
        from knowledge.models import KnowledgePage

        engine = get_search_backend(backend)
        if page:
            for pk in page:
                self.stdout.write(f"page {pk}: {index_page(pk, backend=engine)}")
            return
        started = timezone.now()
        pages = list(KnowledgePage.objects.live().specific().order_by("pk"))
        handle = engine.start_rebuild(SITE_NAMESPACE)
        chunks = embedded = 0
        warnings = []
        with Progress(self.stdout, len(pages), "Indexing pages") as bar:
            for p in pages:
                try:
                    records, page_warnings, fresh = build_chunks(p, handle, engine)
                except Exception as exc:
                    raise CommandError(f"Page {p.pk} ({p.title}) could not be indexed: {exc}") from exc
                engine.index_page(handle, p.pk, records)
                IndexedPage.objects.update_or_create(
                    page_id=p.pk,
                    defaults={
                        "revision_id": p.live_revision_id, "state": IndexedPage.State.INDEXED,
                        "chunk_count": len(records), "warnings": page_warnings, "attempts": 0, "last_error": "",
                    },
                )
                chunks += len(records)
                embedded += fresh
                warnings += page_warnings
                bar.advance()
        engine.finish_rebuild(SITE_NAMESPACE, handle)
        live_ids = {p.pk for p in pages}
        IndexedPage.objects.exclude(page_id__in=live_ids).delete()
        # Catch up with anything published while the copy was being built.
        late = set(IndexOutbox.objects.filter(created_at__gte=started).values_list("page_id", flat=True))
        for pk in late:
            index_page(pk, backend=engine)
        for w in warnings:
            self.stderr.write(f"warning: {w}")
        self.stdout.write(self.style.SUCCESS(
            f"Indexed {len(pages)} pages as {chunks} chunks ({embedded} embedded, {chunks - embedded} unchanged)"
            f"{f'; {len(late)} pages caught up' if late else ''}."
        ))
