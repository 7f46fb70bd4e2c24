"""Admin reports: index health, unanswered searches, accountability."""

import csv
import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView
from wagtail.models import Page

from knowledge.models import KnowledgePage

from .backends import get_search_backend
from .backends.base import SITE_NAMESPACE
from .models import IndexedPage, IndexOutbox


class ReportPermissionMixin:
    permission = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class IndexHealthView(ReportPermissionMixin, TemplateView):
    template_name = "kmsearch/admin/index_health.html"
    permission = "kmsearch.view_indexedpage"

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
                "embedding": _embedding_facts(),
            }
        )
        return context


def _embedding_facts():
    """The model and what embeds queries in this process (ONNX Runtime, or
    torch and why), for the report."""
    from .embeddings import get_embedder

    embedder = get_embedder()
    detail = getattr(embedder, "query_runtime_detail", None)
    return {"model": embedder.model_id, "queries": detail() if detail else type(embedder).__name__}


class ContentRequestForm(forms.Form):
    title = forms.CharField(max_length=255)
    unit = forms.ModelChoiceField(queryset=None)
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    queries = forms.CharField(widget=forms.HiddenInput, required=False)
    count = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, **kwargs):
        from knowledge.models import OrgUnit

        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = OrgUnit.objects.all()

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < timezone.localdate():
            raise forms.ValidationError("The due date is in the past.")
        return due


class UnansweredReportView(ReportPermissionMixin, TemplateView):
    """What people look for and don't find, grouped by meaning."""

    template_name = "kmsearch/admin/unanswered.html"
    permission = "kmsearch.add_contentrequest"

    def get_context_data(self, **kwargs):
        from kmsite.charts import line_chart

        from .analytics import daily_trend, rising_queries, unanswered_groups

        context = super().get_context_data(**kwargs)
        try:
            days = max(1, min(365, int(self.request.GET.get("days", 30))))
        except ValueError:
            days = 30
        trend = daily_trend(days)
        context.update(
            {
                "days": days,
                "groups": unanswered_groups(days)[:50],
                "trend": trend,
                "chart": line_chart(
                    f"Searches and unanswered searches per day, last {days} days",
                    [d.strftime("%d %b") for d, _, _ in trend],
                    [("All searches", [t for _, t, _ in trend]), ("Unanswered", [m for _, _, m in trend])],
                ),
                "rising": rising_queries(),
                "form": ContentRequestForm(initial={"due_date": timezone.localdate() + datetime.timedelta(days=30)}),
            }
        )
        return context

    def post(self, request, *args, **kwargs):
        from .models import ContentRequest

        form = ContentRequestForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The content request was not created: " + "; ".join(
                f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
            return redirect("kmsearch_unanswered")
        data = form.cleaned_data
        ContentRequest.objects.create(
            title=data["title"], unit=data["unit"], due_date=data["due_date"],
            example_queries=[q for q in data["queries"].split("\n") if q][:20],
            search_count=data.get("count") or 0, created_by=request.user,
        )
        messages.success(request, f"Content request “{data['title']}” assigned to {data['unit'].name}.")
        return redirect("kmsearch_unanswered")


class AccountabilityView(ReportPermissionMixin, TemplateView):
    """Which page revisions an officer was shown or opened, and when (auditors only)."""

    template_name = "kmsearch/admin/accountability.html"
    permission = "kmsearch.view_accountability"

    def rows(self):
        from django.contrib.auth import get_user_model

        from .models import Exposure

        params = self.request.GET
        qs = Exposure.objects.select_related("user").order_by("-created_at")
        username = params.get("user", "").strip()
        if username:
            qs = qs.filter(user__in=get_user_model().objects.filter(username=username))
        for name, lookup in (("from", "created_at__date__gte"), ("to", "created_at__date__lte")):
            if params.get(name):
                try:
                    qs = qs.filter(**{lookup: datetime.date.fromisoformat(params[name])})
                except ValueError:
                    self.error = f"'{params[name][:20]}' is not a date (YYYY-MM-DD)."
        return qs

    def get(self, request, *args, **kwargs):
        self.error = ""
        rows = self.rows()
        if request.GET.get("format") == "csv":
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="govkm-accountability.csv"'
            writer = csv.writer(response)
            writer.writerow(["when", "user", "page id", "page title", "revision id", "kind"])
            titles = dict(Page.objects.filter(pk__in=rows.values("page_id")).values_list("pk", "title"))
            for e in rows.iterator():
                writer.writerow([e.created_at.isoformat(), e.user.username, e.page_id,
                                 _csv_safe(titles.get(e.page_id, "")), e.revision_id or "", e.kind])
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from .analytics import conf

        context = super().get_context_data(**kwargs)
        rows = list(self.rows()[:500])
        titles = dict(Page.objects.filter(pk__in=[r.page_id for r in rows]).values_list("pk", "title"))
        for r in rows:
            r.title = titles.get(r.page_id, "(deleted page)")
        context.update({"rows": rows, "error": self.error, "enabled": conf("ACCOUNTABILITY"), "params": self.request.GET})
        return context


def _csv_safe(value):
    """Neutralise spreadsheet formulas in exported text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class PopularSearchesView(ReportPermissionMixin, TemplateView):
    """What the public home page lists as popular searches, and the terms
    owners have hidden from it (search/popular.py). Hide or show again."""

    template_name = "kmsearch/admin/popular.html"
    permission = "kmsearch.add_hiddensearchterm"

    def get_context_data(self, **kwargs):
        from .models import HiddenSearchTerm
        from .popular import popular_queries

        context = super().get_context_data(**kwargs)
        context.update({"popular": popular_queries(limit=20), "hidden": HiddenSearchTerm.objects.all()})
        return context

    def post(self, request, *args, **kwargs):
        from . import popular
        from .models import HiddenSearchTerm

        term = HiddenSearchTerm.normalise(request.POST.get("term", ""))[:1000]
        if not term:
            messages.error(request, "Say which search term to hide.")
        elif request.POST.get("action") == "show":
            HiddenSearchTerm.objects.filter(term=term).delete()
            messages.success(request, f"“{term}” may appear in popular searches again.")
        else:
            HiddenSearchTerm.objects.get_or_create(term=term, defaults={"hidden_by": request.user})
            messages.success(request, f"“{term}” is hidden from popular searches.")
        popular.forget()
        return redirect("kmsearch_popular")
