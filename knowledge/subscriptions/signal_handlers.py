"""Publications and unpublications become guidance changes (changes.py),
recorded inside the publishing transaction; followers are found and told
after commit by the worker (knowledge.tasks.fan_out_change). A change whose
task never ran (broker down) is picked up by the beat sweep."""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished

from ..models import KnowledgePage
from . import changes

logger = logging.getLogger("govkm.knowledge")


def _enqueue(change_ids):
    if not change_ids:
        return

    def send():
        from ..tasks import fan_out_change

        for pk in change_ids:
            try:
                fan_out_change.delay(pk)
            except Exception as exc:  # broker down: the sweep fans it out
                logger.warning("change %s left for the notification sweep (%s)", pk, exc)

    transaction.on_commit(send)


@receiver(page_published, dispatch_uid="km_follow_published")
def on_published(sender, instance, revision=None, **kwargs):
    if not isinstance(instance, KnowledgePage) or instance.alias_of_id:
        return
    revision_id = getattr(revision, "pk", None) or instance.live_revision_id
    # read before knowledge/propagation.py clears the stored flag
    recorded = changes.changes_for_publication(instance, revision_id, instance.material_change,
                                               instance.change_summary)
    _enqueue([c.pk for c in recorded])


@receiver(page_unpublished, dispatch_uid="km_follow_unpublished")
def on_unpublished(sender, instance, **kwargs):
    if isinstance(instance, KnowledgePage) and not instance.alias_of_id:
        _enqueue([c.pk for c in changes.change_for_unpublication(instance)])


@receiver(post_delete, sender=Page, dispatch_uid="km_follow_page_deleted")
def on_page_deleted(sender, instance, **kwargs):
    """Wagtail unpublishes a live page in ``pre_delete``, after Django has
    collected the rows that cascade, so the unpublication recorded above
    would outlive its page (a foreign key broken at commit). A deleted page
    is nobody's to read: its changes go with it, and nothing is sent."""
    from ..models import GuidanceChange

    GuidanceChange.objects.filter(page_id=instance.pk).delete()
