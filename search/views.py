"""The search page and the JSON API. Both go through ``SearchService``."""

import hashlib
import logging

from django.core.cache import cache
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from wagtail import hooks
from wagtail.models import Page

from kmsite.security import search_rate_limited
from knowledge.access import user_can_view_page
from knowledge.freshness import Freshness

from . import analytics, answers
from .openapi import schema
from .service import SearchError, SearchService, facet_labels, parse_request

logger = logging.getLogger("govkm.search")


@require_GET
@search_rate_limited(as_json=False)  # one budget with the API
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
        context["answer"] = answers.answer_for(response)
        context["log_id"] = analytics.record_search(request, search_request, response, answer=context["answer"])
        offset = (search_request.page - 1) * search_request.per_page
        learn = _learn_links([r.page_id for r in response.results])
        # Links and labels worked out here once, not by {% url %} and an
        # inclusion tag per result in the template (a third of its cost).
        log_id = context["log_id"]
        click = reverse("search_click", args=[log_id, 0])[:-2] if log_id else ""
        for i, result in enumerate(response.results, start=1):
            result.position = offset + i
            result.href = f"{click}{result.position}/?page={result.page_id}" if log_id else result.url
            result.freshness_label = Freshness.LABELS.get(result.freshness, result.freshness)
            result.learn_links = learn.get(result.page_id, [])
        context["response"] = response
        context["facets_html"] = facets_html([
            _facet(param, field, response.facets.get(field, {}), labels.get(field, {}),
                   search_request.filters.get(field, []))
            for param, field in FACETS
        ])
        params = request.GET.copy()
        params.pop("page", None)
        context["base_query"] = params.urlencode()
    return render(request, "search/search.html", context)


FACETS = [("type", "content_type"), ("topic", "topics"), ("unit", "units"), ("status", "status"),
          ("freshness", "freshness"), ("audience", "audience")]
FACET_LABELS = {"type": "Content type", "topic": "Topic", "unit": "Organisation unit", "status": "Status",
                "audience": "Audience", "freshness": "Freshness"}
#: values listed per facet on the search page, most frequent first (as an
#: Elasticsearch terms aggregation's default size); values the visitor has
#: ticked are always listed, so a filter can always be removed
FACET_VALUES_SHOWN = 10


def _facet(param, field, counts, labels, active):
    values = sorted(
        ({"value": value, "label": labels.get(value, value), "count": count, "active": value in active}
         for value, count in counts.items()),
        key=lambda v: (-v["count"], v["label"]),
    )
    shown = [v for i, v in enumerate(values) if i < FACET_VALUES_SHOWN or v["active"]]
    return {"param": param, "field": field, "label": FACET_LABELS[param], "values": shown,
            "more": len(values) - len(shown)}


#: Wagtail hook: ``fn(page_ids, limit) -> {page id: [(url, title)]}``,
#: "Learn this" links under each result (training/wagtail_hooks.py fills
#: it: the modules teaching the page). Search knows nothing of training.
LEARN_LINKS_HOOK = "search_learn_links"


#: the filters column's HTML is kept this long in the shared cache
FACETS_HTML_SECONDS = 300


def facets_html(facets):
    """The filters column, rendered by its template and kept in Django's
    cache under a hash of everything it shows (values, labels, counts,
    ticks), so it needs no invalidation: a renamed label or other counts
    make another key. Rendering it cost 2.3 ms of CPU, a cache read 0.4 ms
    (docs/performance.md, 2026-12-01 evening); searches repeat, so most
    pages read it. A cache that cannot be reached is skipped."""
    key = "kmsearch:facets-html:" + hashlib.sha256(repr(facets).encode()).hexdigest()
    try:
        html = cache.get(key)
    except Exception as exc:
        logger.warning("filters column cache unavailable (%s)", exc)
        html = None
    if html is None:
        html = render_to_string("search/includes/facets.html", {"facets": facets})
        try:
            cache.set(key, html, FACETS_HTML_SECONDS)
        except Exception as exc:
            logger.warning("filters column not cached (%s)", exc)
    return html


def _learn_links(page_ids, limit=2):
    """"Learn this" links for each result's page, ``limit`` at most, from
    whichever apps registered the hook."""
    links = {}
    for fn in hooks.get_hooks(LEARN_LINKS_HOOK):
        for page_id, found in fn(page_ids, limit).items():
            links[page_id] = (links.get(page_id, []) + list(found))[:limit]
    return links


def _error(message, field=None, status=400):
    return JsonResponse({"error": {"message": message, "field": field}}, status=status)


@csrf_exempt  # read-only (GET only): other methods get 405, not a CSRF 403
@require_GET
@search_rate_limited(as_json=True)
def api_search(request):
    try:
        search_request = parse_request(request.GET, strict=True)
        response = SearchService().search(search_request, request.user)
        outcome = answers.answer_for(response)
    except SearchError as exc:
        return _error(str(exc), exc.field)
    log_id = analytics.record_search(request, search_request, response, answer=outcome)
    return JsonResponse(
        {
            "query": search_request.q,
            "search_id": str(log_id) if log_id else None,
            "mode": search_request.mode,
            "page": search_request.page,
            "num_pages": response.num_pages,
            "total": response.total,
            "took_ms": round(response.took_ms, 2),
            "notice": response.notice,
            "answer": outcome.answer.as_dict() if outcome.answer else None,
            "results": [r.as_dict() for r in response.results],
            "facets": response.facets,
        }
    )


@csrf_exempt
@require_GET
def api_schema(request):
    return JsonResponse(schema())


@require_GET
def result_click(request, log_id, position):
    """Record which result was opened, then go to it. Only to a page the
    visitor may view: never an open redirect."""
    try:
        page_id = int(request.GET.get("page", ""))
    except ValueError:
        raise Http404("No such result") from None
    page = get_object_or_404(Page, pk=page_id, live=True)
    if not user_can_view_page(request.user, page):
        raise Http404("No such result")
    if 1 <= position <= 10_000:
        analytics.record_click(log_id, page.pk, position)
    return HttpResponseRedirect(page.url)


def _feedback_page(request, page_id):
    """The live guidance page feedback is about, if the visitor may view it."""
    from knowledge.models import KnowledgePage

    page = get_object_or_404(KnowledgePage, pk=page_id, live=True)
    if not user_can_view_page(request.user, page):
        raise Http404("No such page")
    return page


@require_POST
def page_feedback(request, page_id):
    """'Did this answer your question?' (CSRF-protected form on every page)."""
    from .models import PageFeedback

    page = _feedback_page(request, page_id)
    helpful = request.POST.get("helpful")
    if helpful not in ("yes", "no"):
        return render(request, "search/feedback_thanks.html", {"page": page, "error": "Choose yes or no."}, status=400)
    reason = " ".join(request.POST.get("reason", "").split())[:500]
    PageFeedback.objects.create(page=page, helpful=helpful == "yes", reason=analytics.mask(reason))
    return render(request, "search/feedback_thanks.html", {"page": page})


@require_POST
def answer_feedback(request, log_id):
    """'Did this answer your question?' on the answer card (CSRF-protected):
    goes to the answer's page owners, with the search and the revision it
    answered; a "no" puts the search in the unanswered-questions report."""
    from .models import PageFeedback

    try:
        page_id = int(request.POST.get("page", ""))
    except ValueError:
        raise Http404("No such page") from None
    page = _feedback_page(request, page_id)
    helpful = request.POST.get("helpful")
    if helpful not in ("yes", "no"):
        return render(request, "search/feedback_thanks.html", {"page": page, "error": "Choose yes or no."}, status=400)
    PageFeedback.objects.create(page=page, helpful=helpful == "yes", kind=PageFeedback.Kind.ANSWER,
                                search_id=log_id, revision_id=page.live_revision_id)
    return render(request, "search/feedback_thanks.html", {"page": page, "answer": True})

