""""Popular searches" on the public home page.

A search term is listed only when all of these hold:

- at least ``POPULAR_MIN_USERS`` distinct signed-in people searched it in
  the period. Each signed-in search carries ``QueryLog.voter``, a keyed hash
  of the person and the term together, so one person counts once however
  many sessions or browsers they use; anonymous searches carry none and
  count for nothing (a client that varies its User-Agent or address cannot
  fake a crowd);
- only searches whose results included a page the public may view *now*
  are counted: a term whose results only cleared readers could see (a
  restricted topic) never reaches the public page, whoever searched it;
- no content owner has hidden it (``HiddenSearchTerm``, from the
  "Popular searches" report in the admin).

The list is cached for ``CACHE_SECONDS``; hiding a term clears the cache.
"""

import datetime

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from .analytics import conf

CACHE_KEY = "kmsearch:popular:v2"
CACHE_SECONDS = 600
CANDIDATES = 50


def _public_page_ids(page_ids):
    from knowledge.access import PUBLIC
    from knowledge.models import PageAccessToken

    return set(
        PageAccessToken.objects.filter(page_id__in=page_ids, token=PUBLIC, page__live=True)
        .values_list("page_id", flat=True)
    )


def popular_queries(days=30, limit=8, now=None):
    """[(term, searches counted)] for the public list, most searched first."""
    from .models import HiddenSearchTerm, QueryLog

    now = now or timezone.now()
    minimum = conf("POPULAR_MIN_USERS")
    logs = QueryLog.objects.filter(
        created_at__gte=now - datetime.timedelta(days=days), result_count__gt=0
    ).exclude(voter="")
    candidates = [
        r["query"] for r in logs.values("query").annotate(n=Count("pk"), voters=Count("voter", distinct=True))
        .filter(voters__gte=minimum).order_by("-n", "query")[:CANDIDATES]
    ]
    hidden = {HiddenSearchTerm.normalise(t) for t in HiddenSearchTerm.objects.values_list("term", flat=True)}
    candidates = [q for q in candidates if HiddenSearchTerm.normalise(q) not in hidden]
    if not candidates:
        return []
    rows = list(logs.filter(query__in=candidates).values_list("query", "voter", "result_pages"))
    public = _public_page_ids({pk for _q, _v, pages in rows for pk in pages or [] if isinstance(pk, int)})
    counted = {}
    for query, voter, pages in rows:
        if public.intersection(pages or []):
            searches, voters = counted.setdefault(query, [0, set()])
            counted[query][0] = searches + 1
            voters.add(voter)
    ranked = sorted(((-n, q) for q, (n, voters) in counted.items() if len(voters) >= minimum))
    return [(q, -n) for n, q in ranked[:limit]]


def popular_for_home(limit=8):
    popular = cache.get(CACHE_KEY)
    if popular is None:
        popular = popular_queries(limit=limit)
        cache.set(CACHE_KEY, popular, CACHE_SECONDS)
    return popular


def forget():
    """Drop the cached list (a term was hidden or shown again)."""
    cache.delete(CACHE_KEY)
