"""Admin report: is every page searchable? Failing pages, backlog, engine health."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.views.generic import TemplateView
from wagtail.models import Page

from knowledge.models import KnowledgePage

from .backends import get_search_backend
from .backends.base import SITE_NAMESPACE
from .models import IndexedPage, IndexOutbox


class IndexHealthView(TemplateView):
    template_name = "kmsearch/admin/index_health.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("kmsearch.view_indexedpage"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        backend = get_search_backend()
        failing = list(IndexedPage.objects.filter(state=IndexedPage.State.FAILED).order_by("-updated_at")[:200])
        warned = list(IndexedPage.objects.exclude(warnings=[]).exclude(state=IndexedPage.State.FAILED)[:200])
        titles = dict(Page.objects.filter(pk__in=[p.page_id for p in failing + warned]).values_list("pk", "title"))
        for p in failing + warned:
            p.title = titles.get(p.page_id, f"page {p.page_id} (deleted)")
        try:
            pages, chunks = backend.count(SITE_NAMESPACE)
        except Exception as exc:  # an unreachable engine is exactly what this report is for
            pages, chunks = None, None
            context["count_error"] = str(exc)
        context.update(
            {
                "page_title": "Search index health",
                "header_icon": "search",
                "failing": failing,
                "warned": warned,
                "states": dict(IndexedPage.objects.values_list("state").annotate(n=Count("pk"))),
                "backlog": IndexOutbox.objects.count(),
                "oldest_backlog": IndexOutbox.objects.order_by("created_at").first(),
                "indexed_pages": pages,
                "indexed_chunks": chunks,
                "live_pages": KnowledgePage.objects.live().count(),
                "health": backend.health(),
                "backend_alias": backend.alias,
            }
        )
        return context
