"""The module owner's review queue."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from .. import permissions, refresh
from ..models import Module
from .base import render_page


@login_required
@require_GET
def review_queue(request):
    modules = Module.objects.filter(owners=request.user) if not permissions.is_hr(request.user) else Module.objects.all()
    flagged = modules.filter(needs_review=True).prefetch_related("review_requests__page")
    return render_page(request, "training/review_queue.html", {
        "modules": [{"module": m, "requests": [r for r in m.review_requests.all() if r.resolved_at is None]}
                    for m in flagged],
    })


@login_required
@require_POST
def review_resolve(request, slug):
    module = get_object_or_404(Module, slug=slug)
    if not (permissions.is_hr(request.user) or module.owners.filter(pk=request.user.pk).exists()):
        raise PermissionDenied
    refresh.resolve_review(module, request.user)
    messages.success(request, f"“{module.title}” marked as reviewed.")
    return redirect("training:review_queue")
