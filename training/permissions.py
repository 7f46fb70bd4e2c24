"""Who may see whose training records.

Learners see their own; managers see the people in the units they manage
(sub-units included) and their direct reports; HR, holders of
``training.view_all_training`` and superusers see everyone.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q

from knowledge.models import OrgUnit

VIEW_ALL = "training.view_all_training"
IMPORT = "training.import_training_data"


def is_hr(user):
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or user.has_perm(VIEW_ALL)))


def managed_unit_ids(user):
    """Primary keys of the units ``user`` manages and every unit below them."""
    if not (user and user.is_authenticated):
        return set()
    ids = set()
    for unit in OrgUnit.objects.filter(manager=user):
        ids |= unit.descendant_ids()
    return ids


def _managed_q(user, prefix=""):
    return Q(**{f"{prefix}staff_profile__unit_id__in": managed_unit_ids(user)}) | Q(
        **{f"{prefix}staff_profile__manager": user}
    )


def is_manager(user):
    if not (user and user.is_authenticated):
        return False
    return OrgUnit.objects.filter(manager=user).exists() or user.direct_reports.exists()


def visible_learners(user):
    """Users whose records ``user`` may see (HR: everyone)."""
    users = get_user_model().objects.all()
    if is_hr(user):
        return users
    if not (user and user.is_authenticated):
        return users.none()
    return users.filter(Q(pk=user.pk) | _managed_q(user)).distinct()


def managed_learners(user):
    """Users whose levels ``user`` may validate or adjust (never themselves)."""
    if is_hr(user):
        return get_user_model().objects.exclude(pk=user.pk)
    if not (user and user.is_authenticated):
        return get_user_model().objects.none()
    return get_user_model().objects.filter(_managed_q(user)).exclude(pk=user.pk).distinct()


def can_view_learner(viewer, learner):
    if viewer.pk == learner.pk and viewer.is_authenticated:
        return True
    return visible_learners(viewer).filter(pk=learner.pk).exists()


def can_manage_learner(viewer, learner):
    return managed_learners(viewer).filter(pk=learner.pk).exists()


def can_view_reports(user):
    return is_hr(user) or is_manager(user)


def report_scope(user):
    """(unit ids, manager id) restricting reports to what ``user`` may see,
    or None for no restriction (HR)."""
    if is_hr(user):
        return None
    return managed_unit_ids(user), user.pk


def can_mark_attendance(user, activity):
    if is_hr(user) or activity.trainer_id == user.pk:
        return True
    return activity.module.owners.filter(pk=user.pk).exists()
