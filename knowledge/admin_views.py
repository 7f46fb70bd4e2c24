"""Wagtail admin views for freshness: the review action, lesson amendments,
notifications, and the managers' freshness report (with CSV export)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView

from .freshness import Freshness, freshness_state
from .models import KnowledgePage, OrgUnit, ReviewTask
from .notify import mark_read
from .reports import can_view_report, oldest_items, report_unit_ids, trend, trend_svg, unit_rows, visibilities_for
from .review import can_review, confirm_review, resolve_amendment


def _next_url(request, default):
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


class ReviewForm(forms.Form):
    comment = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: what you checked. Recorded in the page's history.",
    )


class ReviewView(WagtailAdminTemplateMixin, TemplateView):
    """GET: what is due and why, and the form; POST: confirm still accurate."""

    template_name = "knowledge/admin/review.html"
    header_icon = "tick"

    def dispatch(self, request, page_id):
        self.page = get_object_or_404(KnowledgePage, pk=page_id).specific
        if not can_review(request.user, self.page):
            raise PermissionDenied
        return super().dispatch(request, page_id)

    def get_page_title(self):
        return f"Review: {self.page.title}"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Review"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        state = freshness_state(self.page)
        context.update({
            "page": self.page,
            "form": kwargs.get("form") or ReviewForm(),
            "state": state,
            "state_label": Freshness.LABELS[state],
            "flags": self.page.open_flags(),
            "amendments": ReviewTask.objects.open().filter(page=self.page, kind=ReviewTask.Kind.AMENDMENT)
            .select_related("lesson"),
            "tasks": ReviewTask.objects.open().filter(page=self.page, kind=ReviewTask.Kind.CYCLE)
            .select_related("reviewer"),
            "next": _next_url(self.request, ""),
            "edit_url": reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
            "history_url": reverse("wagtailadmin_pages:history", args=[self.page.pk]),
        })
        return context

    def post(self, request, page_id):
        form = ReviewForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        confirm_review(self.page, request.user, form.cleaned_data["comment"])
        messages.success(request, f"“{self.page.title}” confirmed as still accurate.")
        return redirect(_next_url(request, reverse("wagtailadmin_pages:history", args=[self.page.pk])))


@require_POST
def resolve_amendment_view(request, task_id):
    task = get_object_or_404(ReviewTask, pk=task_id, kind=ReviewTask.Kind.AMENDMENT)
    if not can_review(request.user, task.page.specific):
        raise PermissionDenied
    outcome = request.POST.get("outcome", "")
    if outcome not in (ReviewTask.Outcome.AMENDED, ReviewTask.Outcome.DECLINED):
        messages.error(request, "Choose whether the amendment was made.")
    elif resolve_amendment(task, request.user, outcome, request.POST.get("comment", "")):
        messages.success(request, "The lesson now shows your decision.")
    return redirect(_next_url(request, reverse("knowledge_review", args=[task.page_id])))


@require_POST
def mark_notifications_read(request):
    ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()] or None
    mark_read(request.user, ids)
    return redirect(_next_url(request, reverse("wagtailadmin_home")))


class PercentColumn(Column):
    def get_value(self, instance):
        return f"{instance[self.accessor]} ({instance[self.accessor + '_pct']}%)"


class FreshnessReportView(ReportView):
    """Per organisation unit: pages per state (count and share), the oldest
    items and the trend. ``?unit=<id>`` narrows to a unit and those below it."""

    page_title = "Freshness by unit"
    header_icon = "time"
    template_name = "knowledge/admin/freshness_report.html"
    results_template_name = "knowledge/admin/freshness_report_results.html"
    index_url_name = "knowledge_freshness_report"
    index_results_url_name = "knowledge_freshness_report_results"
    paginate_by = 100
    export_filename = "freshness-by-unit"
    list_export = ["unit", "total"] + [f for s in Freshness.ORDER for f in (s, f"{s}_pct")]
    export_headings = {"unit": "Unit", "total": "Pages"} | {
        f: (Freshness.LABELS[s] if f == s else f"{Freshness.LABELS[s]} %")
        for s in Freshness.ORDER for f in (s, f"{s}_pct")
    }

    def dispatch(self, request, *args, **kwargs):
        if not can_view_report(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @property
    def columns(self):
        return [Column("unit", label="Unit"), Column("total", label="Pages")] + [
            PercentColumn(s, label=Freshness.LABELS[s]) for s in Freshness.ORDER
        ]

    def scope(self):
        allowed = report_unit_ids(self.request.user)
        chosen = self.request.GET.get("unit", "")
        if chosen.isdigit():
            from .directory import UnitDirectory

            below = UnitDirectory().descendants(int(chosen))
            return below if allowed is None else below & allowed
        return allowed

    def get_queryset(self):
        return unit_rows(self.request.user, self.scope())

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        scope = self.scope()
        allowed = report_unit_ids(self.request.user)
        units = OrgUnit.objects.all() if allowed is None else OrgUnit.objects.filter(pk__in=allowed)
        context.update({
            "oldest": oldest_items(self.request.user, scope),
            "chart": trend_svg(trend(visibilities_for(self.request.user), scope),
                               title="Pages per freshness state, last 180 days"),
            "units": units.select_related("parent"),
            "chosen_unit": self.request.GET.get("unit", ""),
            "today_states": Freshness.LABELS,
        })
        return context

