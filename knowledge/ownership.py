"""When an owner leaves or moves, their pages pass to the unit's content lead.

Leaving is a deactivated account; moving is a change of the user's unit
(``training.StaffProfile.unit`` when the training app is installed). Each
hand-over is recorded (``OwnershipTransfer``), the open review tasks move
with the pages, and the new owner is told. A page whose unit has no
content lead, up to the top of the tree, is left without an owner and the
administrators are told instead.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .access import staff_unit_id
from .directory import UnitDirectory
from .models import KnowledgePage, OwnershipTransfer, ReviewTask
from .notify import display_name, notify, send_pending_on_commit


@transaction.atomic
def transfer_pages(user, reason, pages=None, fallback_unit_id=None, directory=None):
    """Pass ``pages`` (default: every page ``user`` owns) to their units'
    content leads. Returns the ``OwnershipTransfer`` records."""
    directory = directory or UnitDirectory()
    pages = KnowledgePage.objects.filter(owner_user=user) if pages is None else pages
    rows = list(pages.values_list("pk", "unit_id", "title"))
    if not rows:
        return []
    now = timezone.now()
    transfers, by_new_owner = [], {}
    for pk, unit_id, _title in rows:
        new_owner = directory.lead(unit_id, exclude=user.pk) or directory.lead(fallback_unit_id, exclude=user.pk)
        by_new_owner.setdefault(new_owner, []).append(pk)
        transfers.append(OwnershipTransfer(page_id=pk, from_user=user, to_user_id=new_owner, unit_id=unit_id,
                                           reason=reason, created_at=now))
    for new_owner, ids in by_new_owner.items():
        KnowledgePage.objects.filter(pk__in=ids).update(owner_user_id=new_owner)
        ReviewTask.objects.open().filter(page_id__in=ids, reviewer=user).update(reviewer_id=new_owner)
    OwnershipTransfer.objects.bulk_create(transfers)
    _report(user, reason, rows, by_new_owner, now)
    return transfers


def _report(user, reason, rows, by_new_owner, now):
    titles = {pk: title for pk, _, title in rows}
    why = dict(OwnershipTransfer.Reason.choices)[reason].lower()
    stamp = f"{user.pk}:{reason}:{now:%Y%m%d%H%M%S%f}"
    User = get_user_model()
    for new_owner, ids in by_new_owner.items():
        listed = "\n".join(f"- {titles[pk]}" for pk in sorted(ids, key=titles.get))
        if new_owner is not None:
            notify(
                User.objects.get(pk=new_owner), f"ownership:{stamp}:{new_owner}", "ownership",
                f"You now own {len(ids)} page{'s' if len(ids) != 1 else ''} from {display_name(user)}",
                f"{display_name(user)} no longer looks after these pages ({why}); as content lead you do now:\n"
                f"{listed}\n\nCheck their review dates in \"My content\" on the admin dashboard.",
                url="/admin/",
            )
            continue
        for admin in User.objects.filter(is_superuser=True, is_active=True):
            notify(
                admin, f"ownership:{stamp}:none:{admin.pk}", "ownership",
                f"{len(ids)} page{'s' if len(ids) != 1 else ''} without an owner",
                f"{display_name(user)} no longer looks after these pages ({why}) and their units have no content "
                f"lead. Choose an owner for each:\n{listed}",
                url="/admin/",
            )
    send_pending_on_commit()


def owner_deactivated(user):
    return transfer_pages(user, OwnershipTransfer.Reason.DEACTIVATED, fallback_unit_id=staff_unit_id(user))


def owner_moved(user, old_unit_id, new_unit_id):
    """``user`` moved from one unit to another: the pages of the unit they
    left (and its sub-units) pass to that unit's content lead."""
    if old_unit_id is None or old_unit_id == new_unit_id:
        return []
    directory = UnitDirectory()
    left = directory.descendants(old_unit_id)
    staying = directory.descendants(new_unit_id) if new_unit_id else set()
    pages = KnowledgePage.objects.filter(owner_user=user, unit_id__in=left - staying)
    return transfer_pages(user, OwnershipTransfer.Reason.MOVED, pages, fallback_unit_id=old_unit_id,
                          directory=directory)


def transfer_from_inactive_owners(directory=None):
    """Catch-up for the sweep: pages still owned by deactivated accounts
    (for example deactivated by a bulk update that sent no signal)."""
    directory = directory or UnitDirectory()
    User = get_user_model()
    owners = User.objects.filter(is_active=False, owned_knowledge__isnull=False).distinct()
    return [t for user in owners for t in transfer_pages(
        user, OwnershipTransfer.Reason.DEACTIVATED, fallback_unit_id=staff_unit_id(user), directory=directory)]
