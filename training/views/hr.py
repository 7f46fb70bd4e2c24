"""HR reports: the page, the CSV export and the JSON API."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import exports, permissions, reports
from ..forms import ReportFilterForm
from .base import render_page


def _report_inputs(request):
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    return reports.parse_filters(request.GET), permissions.report_scope(request.user)


@login_required
@require_GET
def report_page(request):
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    form = ReportFilterForm(request.GET or None)
    try:
        params = {k: v for k, v in request.GET.items() if v}
        filters = reports.parse_filters(params)
    except reports.ReportFilterError as exc:
        return render_page(request, "training/reports.html", {"form": form, "error": str(exc)}, status=400)
    scope = permissions.report_scope(request.user)
    gap = reports.gap_report(filters, scope)
    return render_page(request, "training/reports.html", {
        "form": form, "filters": filters, "completion": reports.completion_report(filters, scope),
        "gap": gap, "heatmap": reports.heatmap(gap), "query": request.GET.urlencode(),
        "scoped": scope is not None,
    })


@login_required
@require_GET
def report_export(request):
    params = {k: v for k, v in request.GET.items() if v}
    fmt, which = params.pop("format", "csv"), params.pop("report", "gap")
    if fmt not in ("csv", "xlsx") or which not in ("gap", "completion"):
        return HttpResponse("Use format=csv or xlsx and report=gap or completion.", status=400,
                            content_type="text/plain")
    if not permissions.can_view_reports(request.user):
        raise PermissionDenied
    try:
        filters = reports.parse_filters(params)
    except reports.ReportFilterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    scope = permissions.report_scope(request.user)
    stamp = timezone.localdate().isoformat()
    if fmt == "xlsx":
        data = exports.workbook(reports.completion_report(filters, scope), reports.gap_report(filters, scope), filters)
        response = HttpResponse(data, content_type=exports.XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="training-report-{stamp}.xlsx"'
        return response
    if which == "gap":
        body = exports.gap_csv(reports.gap_report(filters, scope))
    else:
        body = exports.completion_csv(reports.completion_report(filters, scope))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="training-{which}-{stamp}.csv"'
    return response


def _api_guard(request):
    if not request.user.is_authenticated:
        return JsonResponse({"error": {"message": "Sign in first.", "field": None}}, status=401)
    if not permissions.can_view_reports(request.user):
        return JsonResponse({"error": {"message": "HR or manager access is required.", "field": None}}, status=403)
    return None


def _report_api(build):
    """A JSON report view: signed-in HR or managers only, filters parsed
    from the query string (400 naming the field), the body from
    ``build(filters, scope)`` after the filters and the time it was made."""

    @require_GET
    @functools.wraps(build)
    def view(request):
        denied = _api_guard(request)
        if denied:
            return denied
        try:
            filters = reports.parse_filters({k: v for k, v in request.GET.items() if v})
        except reports.ReportFilterError as exc:
            return JsonResponse({"error": {"message": str(exc), "field": exc.field}}, status=400)
        body = build(filters, permissions.report_scope(request.user))
        return JsonResponse({"filters": filters.as_dict(), "generated_at": timezone.now().isoformat(), **body})

    return view


@_report_api
def api_gap_report(filters, scope):
    return reports.gap_report(filters, scope).as_dict()


@_report_api
def api_completion_report(filters, scope):
    data = reports.completion_report(filters, scope)
    return {
        "overall": data["overall"],
        "by_unit": [{**{k: v for k, v in r.items() if k != "unit"}, "unit": r["unit"].slug if r["unit"] else None}
                    for r in data["by_unit"]],
        "by_target": [{**{k: v for k, v in r.items() if k != "target"},
                       "target": r["target"].slug if r["target"] else None} for r in data["by_target"]],
    }
