from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from kmsite.accessibility import statement as accessibility_statement
from kmsite.sso.views import LogoutView

urlpatterns = [
    # signing out of the site or the admin also signs out of the identity provider (kmsite/sso)
    path("admin/logout/", LogoutView.as_view()),
    path("admin/", include(wagtailadmin_urls)),
    path("oidc/", include("kmsite.sso.urls")),
    path("documents/", include(wagtaildocs_urls)),
    path("accessibility/", accessibility_statement, name="accessibility_statement"),
    path("", include("search.urls")),
    path("learning/", include("training.urls")),
    path("follow/", include("knowledge.subscriptions.urls")),
]

if settings.KM_DJANGO_ADMIN:
    # Off unless KM_DJANGO_ADMIN=true (development turns it on): the Wagtail
    # admin does everything editors and administrators need, and each mounted
    # admin is one more sign-in page and one more view of the data to keep safe.
    urlpatterns.insert(0, path("django-admin/", admin.site.urls))

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.http import Http404
    from django.urls import re_path

    def _documents_only_through_their_view(request, rest):
        raise Http404("Documents are served at /documents/<id>/<file>, where their pages' audience is checked")

    # media straight from disk for images under DEBUG, never documents (knowledge/documents.py)
    urlpatterns += [re_path(rf"^{settings.MEDIA_URL.lstrip('/')}documents/(?P<rest>.*)$",
                            _documents_only_through_their_view)]
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
