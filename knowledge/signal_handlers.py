"""Keep page access tokens in step with audiences and view restrictions."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from wagtail.models import PageViewRestriction
from wagtail.signals import page_published, post_page_move

from .access import refresh_access, sync_audience_restriction
from .models import KnowledgePage


@receiver(page_published)
def on_publish(sender, instance, **kwargs):
    if isinstance(instance, KnowledgePage):
        sync_audience_restriction(instance)
    refresh_access(instance)


@receiver(post_page_move)
def on_move(sender, instance, **kwargs):
    refresh_access(instance)


@receiver(post_save, sender=PageViewRestriction)
@receiver(post_delete, sender=PageViewRestriction)
def on_restriction_change(sender, instance, **kwargs):
    """Deferred to commit: a restriction deleted along with its page must not
    recreate tokens for a page that is about to disappear."""
    from wagtail.models import Page

    page_id = instance.page_id

    def refresh():
        page = Page.objects.filter(pk=page_id).first()
        if page is not None:
            refresh_access(page)

    transaction.on_commit(refresh)


@receiver(m2m_changed, sender=PageViewRestriction.groups.through)
def on_restriction_groups_change(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, PageViewRestriction):
        on_restriction_change(sender, instance)
