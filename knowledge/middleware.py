"""Remember which Wagtail site answers a host, per process.

Wagtail looks the site up in the database on every request that serves a
page (``Site.find_for_request``: one query with a CASE over every site),
then loads the home page's specific object (a second query). Both change
only when an administrator edits a site or the home page is published,
so each process keeps the site found for a (host, port) under the site
epoch of ``knowledge/fragments.py``, which those edits move (see
``signal_handlers.py``). Wagtail reads ``request._wagtail_site`` before it
looks anything up. When the epoch cannot be read (cache down) nothing is
remembered and Wagtail looks the site up itself.
"""

from wagtail.models import Site

from . import fragments

MAX_HOSTS = 64  # a client may send any Host it likes: bound what is kept
_sites = fragments.EpochMemo(MAX_HOSTS)


def site_for(request):
    epoch = request._km_site_epoch = fragments.site_epoch()  # HomePage.route reads it too
    if epoch is None:
        return None
    key = (request.get_host(), request.get_port())
    found = _sites.get_many(epoch, [key])
    if key in found:
        return found[key]
    site = Site._find_for_request(request)
    if site is not None:
        _sites.put_many(epoch, {key: site})
    return site


class SiteMemoMiddleware:
    """Only for the view that serves Wagtail pages: the search page and the
    API never ask which site they are on, and pay nothing."""

    def __init__(self, get_response):
        from wagtail.views import serve

        self.get_response = get_response
        self.serve = serve

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if view_func is self.serve and not hasattr(request, "_wagtail_site"):
            site = site_for(request)
            if site is not None:
                request._wagtail_site = site
        return None
