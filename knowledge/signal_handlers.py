"""Keep page access tokens in step with audiences and view restrictions, and
set off the freshness work a publication or a departure causes."""

import logging

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from wagtail.models import PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

from . import fragments, tasks
from .access import SECTION_DEPTH, forget_viewers, sync_audience_restriction
from .models import Citation, KnowledgePage, LessonLearnedPage, Notification, PolicyPage
from .models.access import refresh_access
from .notify import emails_pending
from .roles import sync_section_permissions

logger = logging.getLogger("govkm.knowledge")


@receiver(emails_pending, sender=Notification)
def on_emails_pending(sender, **kwargs):
    def send():
        try:
            tasks.send_notification_emails.delay()
        except Exception as exc:  # broker down: the next sweep sends them
            logger.warning("notification e-mails left for the next sweep (%s)", exc)

    transaction.on_commit(send)


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
    recreate tokens for a page that is about to disappear. The site epoch
    moves at once, tokens changed or not: cached page fragments that show
    restricted pages' titles or links are keyed by it."""
    from wagtail.models import Page

    fragments.site_changed()
    page_id = instance.page_id
    if instance.restriction_type == PageViewRestriction.GROUPS and _depth(page_id) <= SECTION_DEPTH:
        # a section became restricted or public: who may edit it follows (at
        # commit: a restriction deleted with its section must not re-grant it)
        transaction.on_commit(sync_section_permissions)

    def refresh():
        page = Page.objects.filter(pk=page_id).first()
        if page is not None:
            refresh_access(page)

    transaction.on_commit(refresh)


def _depth(page_id):
    from wagtail.models import Page

    return Page.objects.filter(pk=page_id).values_list("depth", flat=True).first() or SECTION_DEPTH + 1


@receiver(post_save)
def on_section_created(sender, instance, created=False, raw=False, **kwargs):
    """A new top-level section is editable by Editors unless made restricted (roles.py)."""
    from wagtail.models import Page

    if created and not raw and isinstance(instance, Page) and instance.depth == SECTION_DEPTH:
        sync_section_permissions()


@receiver(m2m_changed, sender=PageViewRestriction.groups.through)
def on_restriction_groups_change(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, PageViewRestriction):
        on_restriction_change(sender, instance)


# --- freshness ----------------------------------------------------------------
@receiver(page_published)
def on_publish_freshness(sender, instance, revision=None, **kwargs):
    """Clear the page's flags, propagate a material change, open a lesson's
    amendment task (see ``knowledge/propagation.py``)."""
    if isinstance(instance, KnowledgePage) and not instance.alias_of_id:
        from .propagation import on_page_published

        on_page_published(instance, revision, getattr(revision, "user", None))


def _remember_previous(sender, instance, attname):
    previous = None
    if instance.pk:
        previous = sender._default_manager.filter(pk=instance.pk).values_list(attname, flat=True).first()
    instance._km_previous = {attname: previous}


@receiver(pre_save, sender=get_user_model())
def before_user_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is None or "is_active" in update_fields:  # not on every login's last_login save
        _remember_previous(sender, instance, "is_active")


@receiver(post_save, sender=get_user_model())
def after_user_saved(sender, instance, created=False, **kwargs):
    """An owner whose account is deactivated hands their pages on."""
    was_active = instance.__dict__.pop("_km_previous", {}).get("is_active")
    if not created and was_active and not instance.is_active:
        from .ownership import owner_deactivated

        owner_deactivated(instance)


# --- the cached facts of signed-in viewers (access.viewer_facts) ---------------
_User = get_user_model()


def _users_of_groups(group_pks):
    return list(_User.objects.filter(groups__pk__in=group_pks).values_list("pk", flat=True))


_M2M_CHANGES = ("post_add", "post_remove", "pre_clear")


def _other_side(instance, action, pk_set, accessor):
    """The objects on the far side of an m2m change: those added or removed,
    or, before a clear (whose pk_set is None), all those still related."""
    if action == "pre_clear":
        return list(getattr(instance, accessor).values_list("pk", flat=True))
    return list(pk_set or [])


@receiver(m2m_changed, sender=_User.groups.through)
@receiver(m2m_changed, sender=_User.user_permissions.through)
def on_user_relation_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A user joined or left a group, or gained or lost a permission, from
    either side of the relation (user.groups.add or group.user_set.add)."""
    if action in _M2M_CHANGES:
        forget_viewers(_other_side(instance, action, pk_set, "user_set") if reverse else [instance.pk])


@receiver(m2m_changed, sender=Group.permissions.through)
def on_group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action in _M2M_CHANGES:
        groups = _other_side(instance, action, pk_set, "group_set") if reverse else [instance.pk]
        forget_viewers(_users_of_groups(groups))


@receiver(pre_delete, sender=Group)
def on_group_deleted(sender, instance, **kwargs):
    forget_viewers(_users_of_groups([instance.pk]))


@receiver(post_save, sender=_User)
@receiver(post_delete, sender=_User)
def on_user_changed(sender, instance, **kwargs):
    forget_viewers([instance.pk])


def _connect_staff_profile_signals():
    """Moving unit hands pages on; the unit is training's StaffProfile.unit."""
    if not apps.is_installed("training"):
        return
    try:
        profile_model = apps.get_model("training", "StaffProfile")
    except LookupError:
        return

    def before_profile_saved(sender, instance, **kwargs):
        _remember_previous(sender, instance, "unit_id")

    def after_profile_saved(sender, instance, created=False, **kwargs):
        previous = instance.__dict__.pop("_km_previous", {}).get("unit_id")
        if not created and previous and previous != instance.unit_id and instance.user.is_active:
            from .ownership import owner_moved

            owner_moved(instance.user, previous, instance.unit_id)

    pre_save.connect(before_profile_saved, sender=profile_model, weak=False, dispatch_uid="km_profile_pre")
    post_save.connect(after_profile_saved, sender=profile_model, weak=False, dispatch_uid="km_profile_post")

    def profile_changed(sender, instance, **kwargs):
        forget_viewers([instance.user_id])

    post_save.connect(profile_changed, sender=profile_model, weak=False, dispatch_uid="km_profile_viewer")
    post_delete.connect(profile_changed, sender=profile_model, weak=False, dispatch_uid="km_profile_viewer_del")


_connect_staff_profile_signals()


# --- cached page bodies (knowledge/fragments.py) --------------------------------
def _neighbours(page):
    """Ids of the pages whose bodies show ``page``: those it cites, those
    citing it, and the lessons proposing to amend it or the page it amends."""
    ids = set(Citation.objects.filter(page_id=page.pk).values_list("target_id", flat=True))
    ids |= set(Citation.objects.filter(target_id=page.pk).values_list("page_id", flat=True))
    ids |= set(LessonLearnedPage.objects.filter(amendment_target_id=page.pk).values_list("pk", flat=True))
    target = getattr(page.specific_deferred, "amendment_target_id", None)
    if target:
        ids.add(target)
    return ids


def _in_supersession(page):
    """Whether ``page`` is a policy in a supersession chain, which every
    policy of the chain shows (a chain can be long: the site epoch moves)."""
    specific = page.specific_deferred
    if not isinstance(specific, PolicyPage):
        return False
    return bool(specific.supersedes_id) or PolicyPage.objects.filter(supersedes_id=page.pk).exists()


@receiver(page_published)
def on_publish_fragments(sender, instance, **kwargs):
    """A publication changes what the pages around this one show of it (its
    title, URL and state in their citation lists and flags); the home page's
    shows the site's pages and is cached under the site epoch."""
    if isinstance(instance, KnowledgePage):
        fragments.pages_changed(_neighbours(instance) | {instance.pk})
        if _in_supersession(instance):
            fragments.site_changed()
    elif instance.depth <= 2:  # a site root: its home page's fragments
        fragments.site_changed()


@receiver(page_unpublished)
@receiver(post_page_move)
def on_structure_changed(sender, instance, **kwargs):
    fragments.site_changed()


@receiver(post_save, sender="wagtailcore.Site")
@receiver(post_delete, sender="wagtailcore.Site")
def on_site_changed(sender, **kwargs):
    fragments.site_changed()


@receiver(post_delete, sender="wagtailcore.Page")
def on_page_deleted(sender, instance, **kwargs):
    fragments.site_changed()


@receiver(post_save, sender="knowledge.Citation")
@receiver(post_delete, sender="knowledge.Citation")
def on_citation_changed(sender, instance, **kwargs):
    fragments.pages_changed([instance.page_id, instance.target_id])


@receiver(post_save, sender="knowledge.ReviewTask")
@receiver(post_delete, sender="knowledge.ReviewTask")
def on_review_task_changed(sender, instance, **kwargs):
    fragments.pages_changed([instance.page_id, instance.changed_page_id, instance.via_page_id])


def _on_site_content_changed(sender, **kwargs):
    if not kwargs.get("raw"):
        fragments.site_changed()


# Shown on many pages and changed rarely: taxonomy, documents, training links.
for _label in ("knowledge.Topic", "knowledge.OrgUnit", "wagtaildocs.Document", "training.Curriculum",
               "training.Module", "training.ModuleCompetence", "training.Activity", "training.PageCompetence"):
    if _label.startswith("training.") and not apps.is_installed("training"):
        continue
    post_save.connect(_on_site_content_changed, sender=_label, weak=False, dispatch_uid=f"km_frag_{_label}")
    post_delete.connect(_on_site_content_changed, sender=_label, weak=False, dispatch_uid=f"km_frag_del_{_label}")

_NAME_FIELDS = {"first_name", "last_name", "username"}


@receiver(post_save, sender=_User)
def on_user_renamed(sender, instance, update_fields=None, **kwargs):
    """Pages name their content owner (not on a login's last_login save)."""
    if update_fields is None or _NAME_FIELDS & set(update_fields):
        fragments.site_changed()
