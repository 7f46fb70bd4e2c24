"""The rendered body of a knowledge page, kept in the shared cache.

A page view used to cost about twenty queries: the page's citations both ways
and which of them the viewer may see, its freshness flags, owner, unit,
topics, attachments, the policy's supersession chain, related guidance and
the training that teaches it. All of that is the same for every viewer who
holds the same access tokens, so ``{% page_fragment page %}`` renders it once
and keeps the HTML in the cache (Redis in production, shared by every web
process) under a key made of:

- the page as loaded for this request: id, live revision, publication time,
  URL path, title, review state, owner and unit, so the page's own publish,
  review or hand-over changes the key with no invalidation at all;
- the viewer's access tokens (never a user id: two viewers with the same
  rights share an entry; two with different rights never do);
- today's date (a page becomes due or overdue at midnight);
- the page's **neighbourhood version**, moved when something shown in the
  body but stored elsewhere changes: a page it cites or that cites it is
  published (title, URL, state), a citation row changes, a review task on it
  opens or closes;
- the **site epoch**, moved by rarer changes that can touch any page: an
  unpublish, deletion or move, any change to a page's access tokens,
  topics, units, documents, training links, or a content owner's name.

Versions move when the change is made and again when it commits, so a body
rendered from the old rows in between is not kept under the new version.
Related guidance comes from the search index, which changes with every edit
anywhere; it is allowed to lag by at most ``KM_PAGE_CACHE_SECONDS`` (the
entries' lifetime, 60 s by default), as Elasticsearch's refresh interval
lets a search lag a write.
Access is never allowed to lag: every change of a page's tokens moves the
site epoch. Previews, requests with a query string and pages not live are
never cached. A cache that cannot be reached is skipped (the body is
rendered), never trusted.
"""

import hashlib
import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .access import user_tokens

logger = logging.getLogger("govkm.knowledge")

EPOCH_KEY = "km:frag:epoch"


def _page_version_key(page_id):
    return f"km:frag:page:{page_id}"


def cache_seconds():
    return getattr(settings, "KM_PAGE_CACHE_SECONDS", 60)


def fragment_key(page, request):
    """The cache key for ``page``'s body as ``request``'s viewer sees it, or
    None when it must be rendered afresh (caching off, a preview, a query
    string, a page not live, or versions that cannot be read)."""
    if cache_seconds() <= 0 or request is None or not getattr(page, "live", False):
        return None
    if getattr(request, "is_preview", False) or request.GET:
        return None
    try:
        versions = cache.get_many([EPOCH_KEY, _page_version_key(page.pk)])
    except Exception as exc:  # Redis down: render, and do not store
        logger.warning("page fragment cache unavailable (%s)", exc)
        return None
    parts = (
        page.pk, page.live_revision_id, page.last_published_at, page.url_path, page.title,
        getattr(page, "last_reviewed_at", None), getattr(page, "review_due", None),
        getattr(page, "freshness", None), getattr(page, "owner_user_id", None), getattr(page, "unit_id", None),
        timezone.localdate(), tuple(sorted(user_tokens(request.user))),
        versions.get(EPOCH_KEY, 0), versions.get(_page_version_key(page.pk), 0),
    )
    return "km:frag:body:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def get(key):
    try:
        return cache.get(key)
    except Exception as exc:
        logger.warning("page fragment cache unavailable (%s)", exc)
        return None


def put(key, html):
    try:
        cache.set(key, html, cache_seconds())
    except Exception as exc:
        logger.warning("page fragment not stored (%s)", exc)


def get_or_render(key, render):
    """The body stored under ``key``; if there is none, ``render()`` makes
    it and it is stored. Requests that miss the same body at once each
    render it (a single-flight of renders measured no difference the noise
    resolves: docs/performance.md)."""
    html = get(key)
    if html is None:
        html = render()
        put(key, html)
    return html


def _start():
    # A version that has to be created (first use, or the cache was emptied
    # by a restart) starts at a random value, so that it does not meet a
    # value an entry was stored under before.
    return secrets.randbits(48)


def _bump(keys):
    for key in keys:
        try:
            cache.add(key, _start(), None)  # atomic create, then atomic increment
            cache.incr(key)
        except Exception as exc:  # entries under the old version expire within cache_seconds()
            logger.warning("could not move page fragment version %s (%s)", key, exc)


def _bump_now_and_on_commit(keys):
    """Move the versions now (this transaction's own later reads, and tests,
    which never commit, see the change) and again once the transaction
    commits: a body rendered by another request from the rows as they were
    before the commit, and stored under the first new version, is dropped
    by the second."""
    _bump(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(keys))


def pages_changed(page_ids):
    """What is shown in the bodies of these pages changed."""
    keys = sorted({_page_version_key(pk) for pk in page_ids if pk})
    if keys:
        _bump_now_and_on_commit(keys)


def site_changed():
    """Something any page may show changed (access, structure, taxonomy)."""
    _bump_now_and_on_commit([EPOCH_KEY])
