"""Signals: publication and review evidence, refreshers after a material
change (knowledge's domain signals, ``knowledge.signals``), newcomers'
assignments, assignment expansion.

Work is enqueued on commit, so a rolled-back save enqueues nothing.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver
from wagtail.signals import page_published

from knowledge.models import KnowledgePage
from knowledge.signals import material_change, page_reviewed

from . import refresh, tasks
from .assignments import auto_assign_is_paused
from .models import Assignment, StaffProfile


@receiver(page_published)
def on_page_published(sender, instance, revision=None, **kwargs):
    if not isinstance(instance, KnowledgePage) or kwargs.get("alias"):
        return
    user_id = getattr(revision, "user_id", None) or instance.owner_user_id
    if user_id:
        page_id = instance.pk
        transaction.on_commit(lambda: tasks.record_publication_evidence.delay(page_id, user_id))


@receiver(material_change)
def on_material_change(sender, page_id, summary, changed_at, **kwargs):
    """Once the publication commits: flag the modules using the page, enrol
    their past learners in a refresher (e-mails go through tasks). A
    failure here is logged and never undoes the publication."""

    def refresh_modules():
        page = KnowledgePage.objects.filter(pk=page_id).first()
        if page is not None:
            refresh.on_material_change(page, summary, changed_at)

    transaction.on_commit(refresh_modules, robust=True)


@receiver(page_reviewed)
def on_page_reviewed(sender, page_id, user_id, on_time, **kwargs):
    if on_time and user_id:
        transaction.on_commit(lambda: tasks.record_review_evidence.delay(page_id, user_id))


@receiver(post_save, sender=StaffProfile)
def on_staff_profile_saved(sender, instance, **kwargs):
    if not auto_assign_is_paused():
        user_id = instance.user_id
        transaction.on_commit(lambda: tasks.apply_user_assignments.delay(user_id))


@receiver(m2m_changed, sender=get_user_model().groups.through)
def on_groups_changed(sender, instance, action, reverse=False, pk_set=None, **kwargs):
    if action != "post_add" or auto_assign_is_paused():
        return
    user_ids = list(pk_set or []) if reverse else [instance.pk]
    for user_id in user_ids:
        transaction.on_commit(lambda uid=user_id: tasks.apply_user_assignments.delay(uid))


@receiver(post_save, sender=Assignment)
def on_assignment_saved(sender, instance, **kwargs):
    if instance.active and not auto_assign_is_paused():
        pk = instance.pk
        transaction.on_commit(lambda: tasks.expand_assignment.delay(pk))
