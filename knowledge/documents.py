"""Documents inherit the audience of the pages that use them.

A document (a PDF attached to a procedure, a file linked from a policy's
body) is served at ``/documents/<id>/<file>`` only to a visitor who may view
*every* page using it: attached to it (``PageAttachment``) or linked from
its fields (Wagtail's reference index, which records document links in rich
text and StreamField blocks). A page is viewable as everywhere else
(``models.access.viewable_ids``: live, and one of the visitor's access tokens);
a page not yet live counts as viewable only to those who may edit it.

The rule is checked each time the file is requested (Wagtail's
``before_serve_document`` hook), so a page made restricted takes its
documents with it at once, and files are always served through that view
(``WAGTAILDOCS_SERVE_METHOD = "serve_view"``; media is never served
straight from disk in production, and under DEBUG ``/media/documents/`` is
refused). A document no page uses follows its collection's privacy, as in
Wagtail.
"""

from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from wagtail.models import Page, ReferenceIndex

from .models.access import viewable_ids


def pages_using(document):
    """The pages that attach or link ``document``, as Page objects."""
    from .models import PageAttachment

    ids = set(PageAttachment.objects.filter(document=document).values_list("page_id", flat=True))
    page_type = ContentType.objects.get_for_model(Page)
    ids.update(
        int(pk) for pk in ReferenceIndex.get_references_to(document)
        .filter(base_content_type=page_type).values_list("object_id", flat=True)
    )
    return list(Page.objects.filter(pk__in=ids)) if ids else []


def may_download(user, document):
    """Whether ``user`` may have ``document``'s file (see the module)."""
    pages = pages_using(document)
    allowed = viewable_ids(user, pages)
    hidden = [p for p in pages if p.pk not in allowed]
    if not hidden:
        return True
    if not (user.is_authenticated and user.is_active):
        return False
    return all(not p.live and p.permissions_for_user(user).can_edit() for p in hidden)


def refuse_unless_allowed(document, request):
    """``before_serve_document`` hook: a sign-in redirect for anonymous
    visitors, a 404 for a signed-in one without access, else nothing."""
    if may_download(request.user, document):
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404("No such document")
