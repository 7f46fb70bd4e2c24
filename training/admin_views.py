"""Wagtail admin views for CSV imports (upload, dry run, progress, import)."""

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .forms import ImportForm
from .importer import KINDS, ImportFileError, decode_upload, progress_key
from .models import ImportJob, ImportStatus
from .permissions import IMPORT


def _require_import_permission(request):
    if not request.user.has_perm(IMPORT):
        raise PermissionDenied


class ImportView(WagtailAdminTemplateMixin, TemplateView):
    """Upload a CSV of units, users or assignments; a worker validates or imports it."""

    template_name = "training/admin/import_form.html"
    page_title = "Import training data"
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        _require_import_permission(request)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm(initial={"dry_run": True}))
        context["kinds"] = KINDS
        context["jobs"] = ImportJob.objects.defer("content")[:10]
        return context

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        try:
            text = decode_upload(upload.read())
        except ImportFileError as exc:
            form.add_error("file", str(exc))
            return self.render_to_response(self.get_context_data(form=form))
        job = ImportJob.objects.create(
            kind=form.cleaned_data["kind"], filename=upload.name[:255], content=text,
            dry_run=form.cleaned_data["dry_run"], uploaded_by=request.user,
            total_rows=max(0, len(text.splitlines()) - 1),
        )
        _enqueue(job)
        return redirect("training_import_job", pk=job.pk)


def _enqueue(job):
    from .tasks import run_import_job

    transaction.on_commit(lambda: run_import_job.delay(job.pk))


class ImportJobView(WagtailAdminTemplateMixin, TemplateView):
    """Progress and outcome of one import; refreshes itself while running."""

    template_name = "training/admin/import_job.html"
    page_title = "Import"
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        _require_import_permission(request)
        self.job = get_object_or_404(ImportJob, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("training_import"), "label": "Import training data"},
            {"url": "", "label": f"{self.job.filename}"},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        running = job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
        done = cache.get(progress_key(job.pk)) or 0
        context.update({
            "job": job, "running": running, "done": done,
            "percent": min(100, round(100 * done / job.total_rows)) if job.total_rows else 0,
        })
        return context

    def post(self, request, pk):
        """Import for real the file a dry run found valid."""
        job = self.job
        if job.status != ImportStatus.VALID:
            messages.error(request, "Only a file whose dry run passed can be imported.")
            return redirect("training_import_job", pk=job.pk)
        real = ImportJob.objects.create(
            kind=job.kind, filename=job.filename, content=job.content, dry_run=False,
            uploaded_by=request.user, total_rows=job.total_rows,
        )
        _enqueue(real)
        return redirect("training_import_job", pk=real.pk)
