"""Response headers: the Content-Security-Policy and private caching.

- ``ContentSecurityPolicy``: django-csp's middleware. The site has the
  strict policy of ``CONTENT_SECURITY_POLICY`` (scripts and styles from our
  own origin only; an inline script needs the request's nonce,
  ``{{ request.csp_nonce }}``). Under ``KM_CSP_ADMIN_PREFIXES`` (the Wagtail
  admin, and the Django admin when mounted) it answers with
  ``KM_CSP_ADMIN_POLICY`` instead: Wagtail's own templates carry inline
  scripts and style attributes without nonces (inline panels, date
  pickers), so that policy allows inline code and nothing from elsewhere.
- ``PrivateCacheControl``: every response to a signed-in visitor (their
  pages, HR records, certificates and their PDFs, the admin) gets
  ``Cache-Control: private, no-store``, so neither a shared proxy nor the
  browser's disk keeps a copy.
"""

from csp.middleware import CSPMiddleware
from csp.utils import default_config
from django.conf import settings
from django.utils.cache import patch_cache_control


class ContentSecurityPolicy(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.config is None and request.path_info.startswith(
            tuple(settings.KM_CSP_ADMIN_PREFIXES)
        ):
            parts.config = default_config(settings.KM_CSP_ADMIN_POLICY)
            parts.nonce = None  # a nonce would make browsers ignore 'unsafe-inline'
        return parts


class PrivateCacheControl:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
