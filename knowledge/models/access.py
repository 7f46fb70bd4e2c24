"""Who may view each page, compiled to tokens and stored (the rules are
``knowledge/access.py``), and the filters that read the stored tokens."""

from django.db import models, transaction
from wagtail.models import Page

from .. import fragments
from ..access import compile_tokens, user_tokens


class PageAccessToken(models.Model):
    """One token a viewer may hold to see a page; a viewer needs any one.

    Kept in step with audiences and view restrictions, so that every listing,
    count and search filters by a single ``token IN (...)`` clause however
    many pages are restricted.
    """

    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="access_tokens")
    token = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "token"], name="unique_page_token")]

    def __str__(self):
        return f"{self.page_id}:{self.token}"


@transaction.atomic
def refresh_access(page):
    """Recompute and store the tokens of ``page`` and of every page below it."""
    pages = list(Page.objects.descendant_of(page, inclusive=True))
    stored = PageAccessToken.objects.filter(page__in=pages)
    before = set(stored.values_list("page_id", "token"))
    after = {(p.pk, t) for p in pages for t in compile_tokens(p)}
    if before != after:
        stored.delete()
        PageAccessToken.objects.bulk_create([PageAccessToken(page_id=pk, token=t) for pk, t in sorted(after)])
        fragments.site_changed()  # cached page bodies list pages by who may see them
    return [p.pk for p in pages]


def viewable_pages(queryset, user):
    """Filter a page queryset to what ``user`` may view, with one clause."""
    return queryset.filter(
        pk__in=PageAccessToken.objects.filter(token__in=user_tokens(user)).values("page_id")
    )


def viewable_ids(user, pages):
    """The ids of those ``pages`` that ``user`` may view: live, and holding
    one of the viewer's access tokens as stored. One query for all of them.

    This is the rule for every place a page *names* another page (citations
    both ways, the policy a page supersedes or is superseded by, a chain of
    versions, a lesson's amendment target, a freshness flag): a title or
    link is shown only for an id in this set."""
    pages = [p for p in pages if p is not None]
    if not pages:
        return set()
    allowed = ids_holding_tokens({page.pk for page in pages}, user_tokens(user))
    return {page.pk for page in pages if page.pk in allowed and page.live}


def ids_holding_tokens(page_ids, tokens):
    """Those of ``page_ids`` whose stored access tokens include one of
    ``tokens`` (a viewer's, from ``user_tokens`` or a search's filter): one
    query. Liveness is the caller's to check."""
    if not page_ids:
        return set()
    return set(PageAccessToken.objects.filter(page_id__in=page_ids, token__in=tokens)
               .values_list("page_id", flat=True))


def without_unviewable(queryset, user):
    """``queryset`` less the pages whose stored tokens ``user`` holds none
    of (pages with no stored tokens, such as the tree's root, stay): for
    navigation and choosers, which list structural pages too."""
    readable = PageAccessToken.objects.filter(token__in=user_tokens(user)).values("page_id")
    return queryset.exclude(pk__in=PageAccessToken.objects.exclude(page_id__in=readable).values("page_id"))
