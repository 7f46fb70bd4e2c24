"""Enqueue re-indexing whenever what search shows of a page may change.

Wagtail's and the ORM's signals say when a page is published, unpublished,
moved, deleted or restricted; knowledge's domain signals
(``knowledge.signals``) say when its freshness changed or it was reviewed.
Each handler only records the work: ``outbox.schedule`` writes an outbox
row in the sender's transaction and hands it to a worker on commit.
"""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

from knowledge.signals import freshness_changed, page_reviewed

from .outbox import schedule, schedule_many


def _schedule_tree(page, reason):
    for pk in Page.objects.descendant_of(page, inclusive=True).values_list("pk", flat=True):
        schedule(pk, reason)


@receiver(page_published)
def on_published(sender, instance, revision=None, **kwargs):
    schedule(instance.pk, "published", revision.pk if revision is not None else instance.live_revision_id)
    close_answered_requests(instance.pk)


def close_answered_requests(page_id):
    """A content request closes when the page linked as its answer is live."""
    from django.utils import timezone

    from .models import ContentRequest

    ContentRequest.objects.filter(answer_page_id=page_id, status=ContentRequest.Status.OPEN).update(
        status=ContentRequest.Status.ANSWERED, closed_at=timezone.now()
    )


@receiver(post_save, sender="kmsearch.ContentRequest")
def on_content_request_saved(sender, instance, **kwargs):
    if instance.answer_page_id and instance.status == "open" and Page.objects.filter(pk=instance.answer_page_id, live=True).exists():
        close_answered_requests(instance.answer_page_id)


@receiver(page_unpublished)
def on_unpublished(sender, instance, **kwargs):
    _schedule_tree(instance, "unpublished")


@receiver(post_delete, sender=Page)
def on_deleted(sender, instance, **kwargs):
    schedule(instance.pk, "deleted")


@receiver(post_page_move)
def on_moved(sender, instance, **kwargs):
    _schedule_tree(instance, "moved")


@receiver(freshness_changed)
def on_freshness_changed(sender, page_ids, reason="freshness", **kwargs):
    if len(page_ids) == 1:
        schedule(page_ids[0], reason)
    elif page_ids:
        schedule_many(page_ids, reason)


@receiver(page_reviewed)
def on_reviewed(sender, page_id, **kwargs):
    schedule(page_id, "freshness")


@receiver(post_save, sender=PageViewRestriction)
@receiver(post_delete, sender=PageViewRestriction)
def on_restriction(sender, instance, **kwargs):
    page = Page.objects.filter(pk=instance.page_id).first()
    if page is not None:
        _schedule_tree(page, "restriction")


@receiver(m2m_changed, sender=PageViewRestriction.groups.through)
def on_restriction_groups(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, PageViewRestriction):
        on_restriction(sender, instance)


@receiver(post_save, sender="kmsearch.Synonym")
@receiver(post_delete, sender="kmsearch.Synonym")
def on_synonyms_changed(sender, **kwargs):
    if kwargs.get("raw"):  # fixtures and test database restores
        return
    from django.core.cache import cache

    from .service import SYNONYM_CACHE_KEY

    cache.delete(SYNONYM_CACHE_KEY)

    def send():
        from .tasks import synonyms_changed

        try:
            synonyms_changed.apply_async(retry=False)
        except Exception as exc:  # broker down: search still applies synonyms at query time
            import logging

            logging.getLogger("govkm.search").warning("synonym reload not queued: %s", exc)

    transaction.on_commit(send)
