"""Atom feeds of guidance changes (Django's syndication framework).

Topic, unit and saved-search feeds list public pages only: a feed reader
is anonymous. The personal feed, reached by a secret that its owner can
replace, lists what its owner follows and may see today.
"""

from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from ..access import PUBLIC, user_tokens
from ..models import Delivery, FeedToken, GuidanceChange, KnowledgePage, OrgUnit, PageAccessToken, Topic
from ..models.access import ids_holding_tokens
from . import registry
from .changes import reader_note

LIMIT = 50


def _visible(changes, tokens):
    """Changes whose page holds one of ``tokens`` and is live (or was withdrawn)."""
    allowed = PageAccessToken.objects.filter(token__in=tokens).values("page_id")
    return changes.filter(page_id__in=allowed).filter(Q(page__live=True) | Q(kind=GuidanceChange.Kind.UNPUBLISHED))


class ChangeFeed(Feed):
    feed_type = Atom1Feed

    def items(self, obj):
        tokens = self.tokens(obj)
        items = list(_visible(self.changes(obj), tokens).select_related("page", "cause")
                     .order_by("-created_at", "-pk")[:LIMIT])
        causes = {c.cause.page_id for c in items if c.cause_id}
        allowed = ids_holding_tokens(causes, tokens)
        for item in items:
            item.reader_note = reader_note(item, may_see_cause=bool(item.cause_id and item.cause.page_id in allowed))
        return items

    def tokens(self, obj):
        return {PUBLIC}

    def item_title(self, item):
        return f"{item.get_kind_display()}: {item.title}"

    def item_description(self, item):
        return item.reader_note

    def item_link(self, item):
        return reverse("km_what_changed", args=[item.pk])

    def item_guid(self, item):
        return f"govkm-change-{item.pk}"

    item_guid_is_permalink = False

    def item_updateddate(self, item):
        return item.created_at

    def item_pubdate(self, item):
        return item.created_at


class TopicFeed(ChangeFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Topic, slug=slug)

    def title(self, obj):
        return f"Guidance changes: {obj.name}"

    def link(self, obj):
        return f"/topics/{obj.slug}/"

    def changes(self, obj):
        return GuidanceChange.objects.filter(
            page_id__in=KnowledgePage.objects.filter(topics=obj).values("pk"))


class UnitFeed(ChangeFeed):
    def get_object(self, request, slug):
        return get_object_or_404(OrgUnit, slug=slug)

    def title(self, obj):
        return f"Guidance changes: {obj.name}"

    def link(self, obj):
        return "/"

    def changes(self, obj):
        return GuidanceChange.objects.filter(
            page_id__in=KnowledgePage.objects.filter(unit_id__in=obj.descendant_ids()).values("pk"))


class SearchFeed(ChangeFeed):
    def get_object(self, request):
        query = " ".join(request.GET.get("q", "").split())[:200]
        if not query:
            raise Http404("Give the search's words as ?q=")
        return query

    def title(self, obj):
        return f"Guidance changes matching “{obj}”"

    def link(self, obj):
        return f"/search/?q={obj}"

    def changes(self, obj):
        recent = GuidanceChange.objects.order_by("-created_at", "-pk").values_list("pk", "page_id")[:500]
        page_ids = {pid for _, pid in recent if obj in registry.queries_matching(pid, [obj])}
        return GuidanceChange.objects.filter(page_id__in=page_ids)


class PersonalFeed(ChangeFeed):
    def get_object(self, request, secret):
        token = FeedToken.objects.filter(secret=secret).select_related("user").first()
        if token is None or not token.user.is_active:
            raise Http404
        return token.user

    def title(self, obj):
        return "Guidance changes you follow"

    def link(self, obj):
        return reverse("km_subscriptions")

    def tokens(self, obj):
        return user_tokens(obj)

    def changes(self, obj):
        return GuidanceChange.objects.filter(
            pk__in=Delivery.objects.filter(user=obj).values("change_id"))
