"""The search page and the JSON API. Both go through ``SearchService``."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .openapi import schema
from .service import SearchError, SearchService, facet_labels, parse_request


@require_GET
def search_page(request):
    context = {"query": "", "error": "", "response": None}
    try:
        search_request = parse_request(request.GET, strict=False, allow_empty=True)
    except SearchError as exc:
        context["error"] = str(exc)
        return render(request, "search/search.html", context, status=400)
    context["query"] = search_request.q
    context["search_request"] = search_request
    if search_request.q:
        try:
            response = SearchService().search(search_request, request.user)
        except SearchError as exc:
            context["error"] = str(exc)
            return render(request, "search/search.html", context, status=400)
        labels = facet_labels()
        context["response"] = response
        context["facets"] = [
            {
                "param": param,
                "field": field,
                "label": {"type": "Content type", "topic": "Topic", "unit": "Organisation unit", "status": "Status", "audience": "Audience", "freshness": "Freshness"}[param],
                "values": sorted(
                    (
                        {
                            "value": value,
                            "label": labels.get(field, {}).get(value, value),
                            "count": count,
                            "active": value in search_request.filters.get(field, []),
                        }
                        for value, count in response.facets.get(field, {}).items()
                    ),
                    key=lambda v: (-v["count"], v["label"]),
                ),
            }
            for param, field in [("type", "content_type"), ("topic", "topics"), ("unit", "units"), ("status", "status"), ("freshness", "freshness"), ("audience", "audience")]
        ]
        params = request.GET.copy()
        params.pop("page", None)
        context["base_query"] = params.urlencode()
    return render(request, "search/search.html", context)


def _error(message, field=None, status=400):
    return JsonResponse({"error": {"message": message, "field": field}}, status=status)


@require_GET
def api_search(request):
    try:
        search_request = parse_request(request.GET, strict=True)
        response = SearchService().search(search_request, request.user)
    except SearchError as exc:
        return _error(str(exc), exc.field)
    return JsonResponse(
        {
            "query": search_request.q,
            "mode": search_request.mode,
            "page": search_request.page,
            "num_pages": response.num_pages,
            "total": response.total,
            "took_ms": round(response.took_ms, 2),
            "notice": response.notice,
            "results": [r.as_dict() for r in response.results],
            "facets": response.facets,
        }
    )


@require_GET
def api_schema(request):
    return JsonResponse(schema())
